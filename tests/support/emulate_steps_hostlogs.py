"""Hand-built scenarios for the endpoint writers (ecs, auditd, sysmon, winlogbeat, falco).

A Linux host where a user runs curl (DNS lookup and HTTPS connection), a Docker container
whose entry process is xmrig (started by containerd-shim-runc-v2) connecting to a pool, a
shell in another container and apt-get in it; and a Windows workstation doing the same kind
of things. Every value looks like what a real machine would have.
"""

from __future__ import annotations

from imagehunt.emulate.steps import (
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

WEB = Host(name="web-01", ip="10.20.1.11")
WS = Host(name="WS-FIN-014", ip="10.30.1.14", os="windows", domain="CORP")
MINER_CONTAINER = Container(
    id="3f9d2c4b8a1e7f60d5c2b9a8e7f6d5c4b3a29180f7e6d5c4b3a2918070f6e5d4",
    name="dockerapi",
    image="alpineos/dockerapi:latest",
)
APP_CONTAINER = Container(
    id="8b1c6e0f2a9d4b7c3e5f8a1d6c9b2e4f7a0d3c6b9e2f5a8d1c4b7e0a3f6c9d2e",
    name="shop-api",
    image="python:3.12-slim",
)
SHIM = "/usr/bin/containerd-shim-runc-v2"
SHIM_ARGS = (
    SHIM,
    "-namespace",
    "moby",
    "-id",
    MINER_CONTAINER.id,
    "-address",
    "/run/containerd/containerd.sock",
)
POOL_IP = "51.15.69.136"


CURL = Process(
    pid=48211,
    ppid=48102,
    executable="/usr/bin/curl",
    args=(
        "curl",
        "-fsS",
        "-o",
        "/tmp/release.json",
        "https://api.github.com/repos/prometheus/node_exporter/releases/latest",
    ),
    parent_executable="/usr/bin/bash",
    parent_args=("-bash",),
    user="deploy",
    uid=1001,
    cwd="/home/deploy",
)
XMRIG = Process(
    pid=51377,
    ppid=51342,
    executable="/usr/local/bin/xmrig",
    args=(
        "/usr/local/bin/xmrig",
        "-o",
        "stratum+tcp://pool.minexmr.com:3333",
        "-u",
        "47mr7jYTroxQMwdKoPQuJoc9Vs9S9qCUAL6Ek4qyNFWJdqgBZRn4RYY",
        "-p",
        "x",
        "--donate-level",
        "1",
    ),
    parent_executable=SHIM,
    parent_args=SHIM_ARGS,
    cwd="/",
    container=MINER_CONTAINER,
)
SHELL = Process(
    pid=52810,
    ppid=52777,
    executable="/bin/bash",
    args=("bash",),
    parent_executable="/usr/bin/runc",
    parent_args=("runc", "init"),
    cwd="/app",
    container=APP_CONTAINER,
)
APT = Process(
    pid=52844,
    ppid=52810,
    executable="/usr/bin/apt-get",
    args=("apt-get", "install", "-y", "netcat-openbsd"),
    parent_executable="/bin/bash",
    parent_args=("bash",),
    cwd="/app",
    container=APP_CONTAINER,
)
DROPPED = Process(
    pid=52901,
    ppid=52810,
    executable="/tmp/kdevtmpfsi",
    args=("/tmp/kdevtmpfsi",),
    parent_executable="/bin/bash",
    parent_args=("bash",),
    cwd="/tmp",
    container=APP_CONTAINER,
)
QUOTED = Process(
    pid=48390,
    ppid=48102,
    executable="/usr/bin/bash",
    args=("bash", "-c", 'echo "deploy done" > /tmp/status'),
    parent_executable="/usr/bin/bash",
    parent_args=("-bash",),
    user="deploy",
    uid=1001,
    cwd="/home/deploy",
)


def linux_scenario(seed: int = 7) -> Scenario:
    """Benign curl, the miner container, a terminal shell with apt-get and a dropped binary."""
    steps: list[Step] = [
        ProcessStart(time=at(0), host=WEB, attack=False, process=CURL),
        DnsLookup(
            time=at(0.004),
            host=WEB,
            attack=False,
            process=CURL,
            name="api.github.com",
            answers=("140.82.121.6",),
            resolver_ip="10.20.0.2",
            source_port=41235,
            transaction_id=0x3A1F,
        ),
        Connection(
            time=at(0.031),
            host=WEB,
            attack=False,
            process=CURL,
            source_ip=WEB.ip,
            source_port=51522,
            destination_ip="140.82.121.6",
            destination_port=443,
            destination_name="api.github.com",
            outcome="established",
        ),
        ImagePull(
            time=at(10),
            host=WEB,
            attack=True,
            image=MINER_CONTAINER.image,
            digest="sha256:" + "ab" * 32,
        ),
        ContainerStart(
            time=at(12), host=WEB, attack=True, container=MINER_CONTAINER, command=XMRIG.args
        ),
        ProcessStart(time=at(12.35), host=WEB, attack=True, process=XMRIG),
        Connection(
            time=at(12.9),
            host=WEB,
            attack=True,
            process=XMRIG,
            source_ip="172.17.0.2",
            source_port=40112,
            destination_ip=POOL_IP,
            destination_port=3333,
            destination_name="pool.minexmr.com",
        ),
        ProcessStart(time=at(30), host=WEB, attack=False, process=SHELL),
        ProcessStart(time=at(41.5), host=WEB, attack=False, process=APT),
        ProcessStart(time=at(55), host=WEB, attack=True, process=DROPPED),
        ProcessStart(time=at(60), host=WEB, attack=False, process=QUOTED),
    ]
    return Scenario(seed=seed, steps=tuple(steps))


WIN_CURL = Process(
    pid=7420,
    ppid=6312,
    executable="C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    args=(
        "powershell.exe",
        "-NoProfile",
        "-Command",
        "Test-NetConnection -ComputerName pool.minexmr.com -Port 3333",
    ),
    parent_executable="C:\\Windows\\explorer.exe",
    parent_args=("C:\\Windows\\Explorer.EXE",),
    user="jsmith",
    uid=1107,
    cwd="C:\\Users\\jsmith\\",
)
WIN_EDGE = Process(
    pid=9012,
    ppid=6312,
    executable="C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
    args=(
        "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
        "--single-argument",
        "https://login.microsoftonline.com/",
    ),
    parent_executable="C:\\Windows\\explorer.exe",
    parent_args=("C:\\Windows\\Explorer.EXE",),
    user="jsmith",
    uid=1107,
    cwd="C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\",
)


def windows_scenario(seed: int = 7) -> Scenario:
    """Edge to Microsoft login (benign), then PowerShell testing a pool connection."""
    steps: list[Step] = [
        ProcessStart(time=at(0), host=WS, attack=False, process=WIN_EDGE),
        DnsLookup(
            time=at(0.2),
            host=WS,
            attack=False,
            process=WIN_EDGE,
            name="login.microsoftonline.com",
            answers=("20.190.159.4", "20.190.159.68"),
            resolver_ip="10.20.0.2",
            source_port=58211,
        ),
        Connection(
            time=at(0.25),
            host=WS,
            attack=False,
            process=WIN_EDGE,
            source_ip=WS.ip,
            source_port=50211,
            destination_ip="20.190.159.4",
            destination_port=443,
            destination_name="login.microsoftonline.com",
        ),
        ProcessStart(time=at(20), host=WS, attack=True, process=WIN_CURL),
        DnsLookup(
            time=at(20.6),
            host=WS,
            attack=True,
            process=WIN_CURL,
            name="pool.minexmr.com",
            answers=(POOL_IP,),
            resolver_ip="10.20.0.2",
            source_port=61077,
        ),
        Connection(
            time=at(20.7),
            host=WS,
            attack=True,
            process=WIN_CURL,
            source_ip=WS.ip,
            source_port=50388,
            destination_ip=POOL_IP,
            destination_port=3333,
            destination_name="pool.minexmr.com",
        ),
    ]
    return Scenario(seed=seed, steps=tuple(steps))
