"""The imaginary organisation the emulations take place in, and the config it would run with.

Its own AWS account and golden AMIs, the public addresses its users reach, and the addresses
the attack uses. ``validation_config`` is the ``-c`` config such an organisation writes: it
trusts Amazon's images and its own account, and lists its golden AMIs. Validation scans with
it, as a user would; the matrix says so.
"""

from __future__ import annotations

from imagehunt.config import CloudTrust, Config

ACCOUNT_ID = "734281960452"
REGION = "us-east-1"
GOLDEN_AMIS = ("ami-0c4f2a81d9e53b7a6", "ami-07d5e1b3c9f8a2046")
# Amazon-owned AMIs the teams also launch (owner alias "amazon", listed as inventory).
AMAZON_AMIS = ("ami-0e8a9d3c5b7f12466",)
AMAZON_OWNER_ID = "137112412989"  # owner of Amazon Linux images (AWS documentation)

# The attack's community AMI: public, owned by an account nobody here knows.
COMMUNITY_AMI = "ami-0b7e3f95c1d2a4e68"

# Public addresses (none in a reserved range) the emulated hosts talk to.
POOL_ADDRESSES = ("51.15.69.136", "94.130.164.163", "142.44.242.100")
EXFIL_ADDRESSES = ("45.76.135.12", "139.180.203.84")
BENIGN_SITES: tuple[tuple[str, str], ...] = (
    ("github.com", "140.82.121.4"),
    ("api.github.com", "140.82.121.6"),
    ("deb.debian.org", "151.101.2.132"),
    ("security.ubuntu.com", "185.125.190.39"),
    ("registry-1.docker.io", "54.236.113.205"),
    ("pypi.org", "151.101.64.223"),
    ("files.pythonhosted.org", "151.101.1.63"),
    ("sts.amazonaws.com", "52.94.236.248"),
    ("ec2.us-east-1.amazonaws.com", "52.46.155.179"),
    ("www.google.com", "142.250.185.68"),
    ("login.microsoftonline.com", "20.190.159.4"),
    ("update.code.visualstudio.com", "13.107.246.45"),
)
RESOLVER = "10.20.0.2"
INTERNAL_SERVICES: tuple[tuple[str, int], ...] = (
    ("10.20.4.17", 5432),  # postgres
    ("10.20.4.30", 6379),  # redis
    ("10.20.8.5", 8080),  # internal API
    ("10.20.8.6", 9999),  # internal metrics endpoint on a port miners also use
    ("172.20.3.11", 4444),  # a lab service in the 172.16/12 block
    ("192.168.50.4", 3000),  # grafana
)

LINUX_HOSTS: tuple[tuple[str, str], ...] = (
    ("web-01", "10.20.1.11"),
    ("k8s-node-3", "10.20.2.23"),
    ("build-07", "10.20.3.7"),
    ("db-02", "10.20.4.12"),
)
WINDOWS_HOSTS: tuple[tuple[str, str], ...] = (
    ("WS-FIN-014", "10.30.1.14"),
    ("WS-ENG-022", "10.30.2.22"),
)
CALLER_IPS = ("81.2.69.160", "81.2.69.192")  # the office's public egress addresses


def validation_config() -> Config:
    """The config the organisation scans with: trusts Amazon and itself, knows its AMIs."""
    owners = dict.fromkeys(GOLDEN_AMIS, ACCOUNT_ID) | dict.fromkeys(AMAZON_AMIS, AMAZON_OWNER_ID)
    return Config(
        cloud=CloudTrust(
            trusted_owners=frozenset({"amazon", AMAZON_OWNER_ID, ACCOUNT_ID}),
            image_owners=owners,
        )
    )
