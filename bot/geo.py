"""Map links and WGS-84 to GCJ-02, shared by day plans and channels (no service of its own).

WGS-84 to GCJ-02 (the public algorithm) and map links that open where people are.

Maps in mainland China (Amap) use GCJ-02, an obfuscated datum offset by a few hundred
metres from GPS's WGS-84; a WGS-84 pin shown on Amap lands in the wrong street.
"""

from __future__ import annotations

import math
from urllib.parse import quote

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the algorithm defines it
_EE = 0.00669342162296594323


def outside_china(lat: float, lon: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _shift(x: float, y: float) -> tuple[float, float]:
    base = 20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)
    lat = base + 20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)
    lon = base + 20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)
    lat += 160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)
    lon += 150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)
    lat = lat * 2.0 / 3.0 - 100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
    lon = lon * 2.0 / 3.0 + 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y
    root = math.sqrt(abs(x))
    return lat + 0.2 * root, lon + 0.1 * root


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 coordinates of a WGS-84 point; unchanged outside mainland China."""
    if outside_china(lat, lon):
        return lat, lon
    d_lat, d_lon = _shift(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    root = math.sqrt(magic)
    d_lat = d_lat * 180.0 / ((_A * (1 - _EE)) / (magic * root) * math.pi)
    d_lon = d_lon * 180.0 / (_A / root * math.cos(rad) * math.pi)
    return lat + d_lat, lon + d_lon


def amap_link(name_zh: str, lat: float | None, lon: float | None) -> str:
    """An Amap (Gaode) link: a pin at the GCJ-02 point, or a search by Chinese name."""
    if lat is None or lon is None:
        return f"https://uri.amap.com/search?keyword={quote(name_zh)}"
    g_lat, g_lon = wgs84_to_gcj02(lat, lon)
    return (
        f"https://uri.amap.com/marker?position={g_lon:.6f},{g_lat:.6f}"
        f"&name={quote(name_zh)}&coordinate=gaode"
    )


def osm_link(name: str, lat: float | None, lon: float | None) -> str:
    """An OpenStreetMap link (WGS-84), or a search by name when not geocoded."""
    if lat is None or lon is None:
        return f"https://www.openstreetmap.org/search?query={quote(name)}"
    return (
        f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=16/{lat:.5f}/{lon:.5f}"
    )
