"""WGS-84 to GCJ-02 against published reference pairs, and the map links built from it."""

from __future__ import annotations

import pytest

from bot.geo import amap_link, osm_link, wgs84_to_gcj02

# (WGS-84 lat, lon) -> (GCJ-02 lat, lon), from the eviltransform project's test suite.
REFERENCE = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_conversion_matches_published_pairs(
    wgs: tuple[float, float], gcj: tuple[float, float]
) -> None:
    lat, lon = wgs84_to_gcj02(*wgs)
    assert lat == pytest.approx(gcj[0], abs=2e-5)  # about 2 m
    assert lon == pytest.approx(gcj[1], abs=2e-5)


def test_points_outside_china_are_unchanged() -> None:
    assert wgs84_to_gcj02(48.8566, 2.3522) == (48.8566, 2.3522)


def test_amap_link_uses_gcj02_and_osm_link_uses_wgs84() -> None:
    lat, lon = 29.46, 119.9736
    g_lat, g_lon = wgs84_to_gcj02(lat, lon)
    amap = amap_link("上山考古遗址公园", lat, lon)
    assert f"position={g_lon:.6f},{g_lat:.6f}" in amap and "coordinate=gaode" in amap
    assert "%E4%B8%8A%E5%B1%B1" in amap  # the Chinese name, URL-encoded
    assert "mlat=29.460000&mlon=119.973600" in osm_link("Shangshan", lat, lon)
    assert amap_link("李祖村", None, None).startswith("https://uri.amap.com/search?keyword=")
