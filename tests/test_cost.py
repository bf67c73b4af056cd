"""`make cost`: a monthly estimate from the synthesized configuration and stated volumes."""
from __future__ import annotations

import pytest

from scripts import cost
from tests.cdk_helpers import SynthesizedService


def test_inventory_reads_the_real_configuration(service: SynthesizedService) -> None:
    found = cost.inventory(service.outdir)
    assert ("arm64", 512) in {(arch, memory) for _id, arch, memory in found.functions}
    assert found.http_apis == 1 and found.proxies == 1 and found.clusters == [(0.5, 4)]
    assert found.endpoint_azs == 4  # Secrets Manager + SQS in two AZs


def test_estimate_follows_volumes_and_prices(service: SynthesizedService) -> None:
    found = cost.inventory(service.outdir)
    lines = dict(cost.estimate(found, requests=2_000_000, duration_ms=100, messages=0, avg_acu=1, storage_gb=20))
    assert lines["HTTP API: 2,000,000 requests"] == pytest.approx(2.00)
    assert lines["Aurora Serverless v2: 1 ACU average (0.5–4)"] == pytest.approx(1 * 730 * 0.12)
    assert lines["RDS Proxy: billed on 8 ACU (minimum 8)"] == pytest.approx(8 * 730 * 0.015)
    assert lines["VPC interface endpoints: 4 endpoint-AZs"] == pytest.approx(4 * 730 * 0.01)
    gb_seconds = [amount for label, amount in lines.items() if "GB-s" in label]
    assert gb_seconds == [pytest.approx(2_000_000 * 0.1 * 0.5 * 0.0000133334)]


def test_report_prints_price_table_with_its_date(service: SynthesizedService) -> None:
    report = cost.main([str(service.outdir)])
    assert f"recorded {cost.PRICES_DATE}" in report
    assert "Aurora Serverless v2 (standard), per ACU-hour" in report and "total" in report


def test_each_topology_has_its_idle_and_per_million_cost(service: SynthesizedService) -> None:
    rows = {topology: (idle, per_million) for topology, idle, per_million in
            cost.topology_costs(cost.inventory(service.outdir), duration_ms=50, storage_gb=10)}
    assert set(rows) == {"proxy", "direct", "express"}
    # direct drops the proxy's 8-ACU minimum and the 0.5 ACU floor; express the endpoints and the secret too
    assert rows["proxy"][0] - rows["direct"][0] == pytest.approx(8 * 730 * 0.015 + 0.5 * 730 * 0.12)
    assert rows["direct"][0] - rows["express"][0] == pytest.approx(4 * 730 * 0.01 + 0.40 + 1.00)
    assert rows["proxy"][1] == pytest.approx(rows["express"][1]) and rows["proxy"][1] > 1.00  # API $1/million + Lambda
    assert "By database topology" in cost.main([str(service.outdir)])


def test_only_the_stacks_of_the_last_synth_are_counted(service: SynthesizedService, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # GIVEN an assembly where an earlier synth (another stage) left its templates beside this synth's
    import shutil

    assembly = tmp_path / "cdk.out"
    shutil.copytree(service.outdir, assembly, ignore=shutil.ignore_patterns("asset.*"))
    for template in list(assembly.glob("*.template.json")):
        shutil.copy(template, assembly / template.name.replace("-dev-", "-prod-"))
    assert len(list(assembly.glob("*-prod-*.template.json"))) >= 2
    # WHEN make cost reads it THEN it counts the manifest's stacks only: one cluster, one proxy (not two each)
    found = cost.inventory(assembly)
    assert found.clusters == [(0.5, 4)] and found.proxies == 1 and found.http_apis == 1
