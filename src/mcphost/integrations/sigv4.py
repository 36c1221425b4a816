"""AWS Signature Version 4 for the few S3 and IAM calls provisioning makes (httpx, no AWS SDK: botocore pins
python-dateutil below 3, which other dependencies here need)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign(
    method: str,
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """``headers`` with host, x-amz-date, x-amz-content-sha256 and Authorization added."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    day = moment[:8]
    parts = urlsplit(url)
    payload = hashlib.sha256(body).hexdigest()
    signed = {key.lower(): value.strip() for key, value in headers.items()}
    signed |= {"host": parts.netloc, "x-amz-date": moment, "x-amz-content-sha256": payload}
    query = sorted(
        (quote(key, safe="-_.~"), quote(value, safe="-_.~"))
        for key, _, value in (item.partition("=") for item in parts.query.split("&") if item)
    )
    canonical = "\n".join(
        [
            method,
            quote(parts.path or "/", safe="/-_.~%"),
            "&".join(f"{key}={value}" for key, value in query),
            "".join(f"{key}:{signed[key]}\n" for key in sorted(signed)),
            ";".join(sorted(signed)),
            payload,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{moment}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(sorted(signed))}, "
        f"Signature={signature}"
    )
    return signed | {"authorization": authorization}
