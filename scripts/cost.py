"""Monthly cost estimate of the synthesized service, from stated traffic volumes.

Reads the templates in a cloud assembly (``cdk.out``), so the estimate follows the real
configuration: each function's architecture and memory, the HTTP APIs, queues, the proxy, the
Aurora capacity range and the VPC endpoints. Prints the price table it used, with its date.

    python scripts/cost.py cdk.out --requests 5000000 --duration-ms 60 --messages 1000000 --avg-acu 1
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:  # run as a file: python scripts/cost.py
    sys.path.insert(0, str(PROJECT))

from scripts.assembly import stacks  # noqa: E402

HOURS_PER_MONTH = 730

#: Public list prices, us-east-1, USD. Recorded on PRICES_DATE; other regions differ by a few percent.
PRICES_DATE = "2026-11-22"
PRICES: dict[str, tuple[float, str]] = {
    "lambda_request": (0.20 / 1_000_000, "Lambda, per request"),
    "lambda_gb_s_arm64": (0.0000133334, "Lambda arm64, per GB-second"),
    "lambda_gb_s_x86_64": (0.0000166667, "Lambda x86_64, per GB-second"),
    "http_api_request": (1.00 / 1_000_000, "API Gateway HTTP API, per request (first 300 M)"),
    "sqs_request": (0.40 / 1_000_000, "SQS standard, per request (64 KB chunk)"),
    "sqs_fifo_request": (0.50 / 1_000_000, "SQS FIFO, per request"),
    "aurora_acu_hour": (0.12, "Aurora Serverless v2 (standard), per ACU-hour"),
    "aurora_storage_gb_month": (0.10, "Aurora storage, per GB-month"),
    "proxy_acu_hour": (0.015, "RDS Proxy for Aurora Serverless v2, per ACU-hour (minimum 8 ACU)"),
    "endpoint_az_hour": (0.01, "VPC interface endpoint, per AZ-hour"),
    "secret_month": (0.40, "Secrets Manager, per secret-month"),
    "nat_hour": (0.045, "NAT gateway, per hour (plus $0.045/GB processed)"),
    "kms_key_month": (1.00, "KMS customer-managed key, per month"),
    "alarm_month": (0.10, "CloudWatch standard alarm, per month"),
    "dashboard_month": (3.00, "CloudWatch dashboard, per month (first 3 free)"),
}
PROXY_MINIMUM_ACU = 8
#: SQS requests per message: send, receive and delete.
SQS_REQUESTS_PER_MESSAGE = 3


@dataclass
class Inventory:
    """What the templates deploy, as far as the price depends on it."""

    functions: list[tuple[str, str, int]]  # (logical id, architecture, memory MB)
    http_apis: int
    queues: int
    fifo_queues: int
    proxies: int
    clusters: list[tuple[float, float]]  # (min ACU, max ACU)
    endpoint_azs: int
    secrets: int
    nat_gateways: int = 0
    kms_keys: int = 0
    alarms: int = 0
    dashboards: int = 0


def inventory(assembly: Path) -> Inventory:
    found = Inventory([], 0, 0, 0, 0, [], 0, 0)
    for _name, _artifact, template in stacks(assembly):  # the manifest's: older synths' templates stay on disk
        for logical_id, resource in template.get("Resources", {}).items():
            kind, props = resource["Type"], resource.get("Properties", {})
            if kind == "AWS::Lambda::Function" and "Code" in props and "ZipFile" not in props["Code"]:
                found.functions.append((logical_id, (props.get("Architectures") or ["x86_64"])[0], props.get("MemorySize", 128)))
            elif kind == "AWS::ApiGatewayV2::Api" and props.get("ProtocolType") == "HTTP":
                found.http_apis += 1
            elif kind == "AWS::SQS::Queue":
                found.fifo_queues += 1 if props.get("FifoQueue") else 0
                found.queues += 0 if props.get("FifoQueue") else 1
            elif kind == "AWS::RDS::DBProxy":
                found.proxies += 1
            elif kind == "AWS::RDS::DBCluster" and "ServerlessV2ScalingConfiguration" in props:
                scaling = props["ServerlessV2ScalingConfiguration"]
                found.clusters.append((scaling["MinCapacity"], scaling["MaxCapacity"]))
            elif kind == "AWS::EC2::VPCEndpoint" and props.get("VpcEndpointType") == "Interface":
                found.endpoint_azs += len(props.get("SubnetIds", []))
            elif kind == "AWS::SecretsManager::Secret":
                found.secrets += 1
            elif kind == "AWS::EC2::NatGateway":
                found.nat_gateways += 1
            elif kind == "AWS::KMS::Key":
                found.kms_keys += 1
            elif kind == "AWS::CloudWatch::Alarm":
                found.alarms += 1
            elif kind == "AWS::CloudWatch::Dashboard":
                found.dashboards += 1
    return found


def estimate(found: Inventory, *, requests: int, duration_ms: float, messages: int, avg_acu: float,
             storage_gb: float) -> list[tuple[str, float]]:
    """Monthly cost lines (label, USD)."""
    price = {key: value for key, (value, _label) in PRICES.items()}
    lines: list[tuple[str, float]] = []
    # API functions run once per request; queue workers once per batch of up to 10 messages.
    for logical_id, architecture, memory in found.functions:
        invocations = requests if logical_id.startswith("Api") else \
            -(-messages // 10) if logical_id.startswith("Worker") else 0
        if not invocations:
            continue
        gb_seconds = invocations * duration_ms / 1000 * memory / 1024
        lines.append((f"Lambda {logical_id} ({architecture}, {memory} MB): {invocations:,} invocations",
                      invocations * price["lambda_request"]))
        lines.append((f"Lambda {logical_id}: {gb_seconds:,.0f} GB-s", gb_seconds * price[f"lambda_gb_s_{architecture}"]))
    if found.http_apis:
        lines.append((f"HTTP API: {requests:,} requests", requests * price["http_api_request"]))
    if found.queues or found.fifo_queues:
        sqs = messages * SQS_REQUESTS_PER_MESSAGE
        key = "sqs_request" if found.queues else "sqs_fifo_request"
        lines.append((f"SQS: {sqs:,} requests", sqs * price[key]))
    for min_acu, max_acu in found.clusters:
        acu = min(max(avg_acu, min_acu), max_acu)
        lines.append((f"Aurora Serverless v2: {acu:g} ACU average ({min_acu:g}–{max_acu:g})",
                      acu * HOURS_PER_MONTH * price["aurora_acu_hour"]))
        lines.append((f"Aurora storage: {storage_gb:g} GB", storage_gb * price["aurora_storage_gb_month"]))
        if found.proxies:
            proxy_acu = max(acu, PROXY_MINIMUM_ACU)
            lines.append((f"RDS Proxy: billed on {proxy_acu:g} ACU (minimum {PROXY_MINIMUM_ACU})",
                          found.proxies * proxy_acu * HOURS_PER_MONTH * price["proxy_acu_hour"]))
    if found.endpoint_azs:
        lines.append((f"VPC interface endpoints: {found.endpoint_azs} endpoint-AZs",
                      found.endpoint_azs * HOURS_PER_MONTH * price["endpoint_az_hour"]))
    if found.secrets:
        lines.append((f"Secrets Manager: {found.secrets} secret(s)", found.secrets * price["secret_month"]))
    if found.nat_gateways:
        lines.append((f"NAT gateways: {found.nat_gateways}", found.nat_gateways * HOURS_PER_MONTH * price["nat_hour"]))
    if found.kms_keys:
        lines.append((f"KMS keys: {found.kms_keys}", found.kms_keys * price["kms_key_month"]))
    if found.alarms:
        lines.append((f"CloudWatch alarms: {found.alarms}", found.alarms * price["alarm_month"]))
    if found.dashboards:
        lines.append((f"CloudWatch dashboards: {found.dashboards}", found.dashboards * price["dashboard_month"]))
    return lines


#: The example's database topologies (``-c topology=…``), each derived from the synthesized default.
TOPOLOGIES = ("proxy", "direct", "express")


def for_topology(found: Inventory, topology: str) -> Inventory:
    """What the same service deploys in ``topology``, from the proxy (default) topology's inventory.

    ``direct``: no proxy, and the cluster pauses when idle (min 0 ACU). ``express``: no VPC either
    (no interface endpoints, no NAT), no admin secret nor its key; the imported express cluster is
    priced as Aurora Serverless v2 at the same ACU rate (an assumption: check current pricing).
    """
    if topology == "proxy":
        return found
    changed = dataclasses.replace(found, proxies=0, clusters=[(0.0, high) for _low, high in found.clusters])
    if topology == "express":
        changed = dataclasses.replace(changed, endpoint_azs=0, nat_gateways=0, secrets=0,
                                      kms_keys=max(found.kms_keys - 1, 0))
    return changed


def topology_costs(found: Inventory, *, duration_ms: float, storage_gb: float) -> list[tuple[str, float, float]]:
    """(topology, idle USD/month, USD per million HTTP requests) for each topology.

    Idle: no traffic and the cluster at its minimum (0 ACU when it pauses). Per million: what a
    million more requests add at that capacity (Lambda and API Gateway; the database's extra ACU
    depend on the work and are not counted)."""
    rows = []
    for topology in TOPOLOGIES:
        inventory_ = for_topology(found, topology)
        idle_acu = min((low for low, _high in inventory_.clusters), default=0.0)

        def total(requests: int) -> float:
            return sum(amount for _, amount in estimate(inventory_, requests=requests, duration_ms=duration_ms,
                                                         messages=0, avg_acu=idle_acu, storage_gb=storage_gb))
        rows.append((topology, total(0), total(1_000_000) - total(0)))
    return rows


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assembly", nargs="?", default="cdk.out", type=Path)
    parser.add_argument("--requests", type=int, default=1_000_000, help="HTTP requests per month (default 1,000,000)")
    parser.add_argument("--duration-ms", type=float, default=50, help="average function duration (default 50 ms)")
    parser.add_argument("--messages", type=int, default=100_000, help="queue messages per month (default 100,000)")
    parser.add_argument("--avg-acu", type=float, default=0.5, help="average Aurora ACU (default 0.5)")
    parser.add_argument("--storage-gb", type=float, default=10, help="database size (default 10 GB)")
    args = parser.parse_args(argv)
    lines = estimate(inventory(args.assembly), requests=args.requests, duration_ms=args.duration_ms,
                     messages=args.messages, avg_acu=args.avg_acu, storage_gb=args.storage_gb)
    out = [f"Monthly estimate for {args.assembly} ({HOURS_PER_MONTH} h/month):"]
    out += [f"  {label:<64} ${amount:>10,.2f}" for label, amount in lines]
    out.append(f"  {'total':<64} ${sum(amount for _, amount in lines):>10,.2f}")
    out.append("\nBy database topology (-c topology=…), idle and per million HTTP requests:")
    for topology, idle, per_million in topology_costs(inventory(args.assembly), duration_ms=args.duration_ms,
                                                      storage_gb=args.storage_gb):
        out.append(f"  {topology:<10} idle ${idle:>8,.2f}/month   + ${per_million:>6,.2f} per million requests")
    out.append(f"\nPrice table (us-east-1 list prices, recorded {PRICES_DATE}; check current pricing):")
    out += [f"  {label:<64} ${value:,.10g}" for value, label in PRICES.values()]
    return "\n".join(out)


if __name__ == "__main__":
    print(main())
