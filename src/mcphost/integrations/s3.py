"""S3-compatible storage for a server: a bucket of its own, and an IAM user whose only policy allows that bucket,
with an access key of its own. Buckets through the S3 API, users through the (AWS-compatible) IAM API, both signed
with the platform's admin key: SeaweedFS serves both on one port (docs/adr/0013-s3-storage.md)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import httpx

from mcphost.integrations.base import Provisioned, ProvisionFailed
from mcphost.integrations.sigv4 import sign
from mcphost.settings.integrations import S3ServiceSettings

_KEY = re.compile(r"<(AccessKeyId|SecretAccessKey)>([^<]+)</\1>")
_LISTED_KEY = re.compile(r"<Key>([^<]+)</Key>")
_IAM_VERSION = "2010-05-08"


class S3Provisioner:
    kind: str = "s3"
    env_names: tuple[str, ...] = (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "S3_BUCKET",
        "S3_ENDPOINT",
    )

    def __init__(self, settings: S3ServiceSettings, timeout: float) -> None:
        self.settings = settings
        self.timeout = timeout

    def configured(self) -> str | None:
        s = self.settings
        if not s.endpoint or s.access_key_id is None or s.secret_access_key is None:
            return (
                "integrations.s3.endpoint, access_key_id and secret_access_key "
                "(MCPHOST_INTEGRATIONS__S3__ENDPOINT, …__ACCESS_KEY_ID, …__SECRET_ACCESS_KEY)"
            )
        return None

    async def _call(self, method: str, url: str, service: str, body: bytes = b"", **headers: str) -> httpx.Response:
        assert self.settings.access_key_id is not None and self.settings.secret_access_key is not None
        signed = sign(
            method,
            url,
            body=body,
            headers=headers,
            access_key=self.settings.access_key_id.get_secret_value(),
            secret_key=self.settings.secret_access_key.get_secret_value(),
            region=self.settings.region,
            service=service,
        )
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.request(method, url, content=body, headers=signed)
        except httpx.HTTPError as exc:
            raise ProvisionFailed(f"The S3 store did not answer: {exc}") from exc
        return response

    async def _iam(self, action: str, **params: str) -> str:
        body = urlencode({"Action": action, "Version": _IAM_VERSION, **params}).encode()
        endpoint = (self.settings.iam_endpoint or self.settings.endpoint or "") + "/"
        response = await self._call(
            "POST", endpoint, "iam", body, **{"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
        )
        if response.status_code >= 300:
            raise ProvisionFailed(f"The S3 store refused {action}: HTTP {response.status_code} {response.text[:300]}")
        return response.text

    def _bucket_url(self, bucket: str, query: str = "") -> str:
        return f"{self.settings.endpoint}/{bucket}" + (f"?{query}" if query else "")

    def _env(self, bucket: str, key_id: str, secret: str) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_REGION": self.settings.region,
            "S3_BUCKET": bucket,
            "S3_ENDPOINT": self.settings.server_endpoint or self.settings.endpoint or "",
        }

    def _policy(self, bucket: str) -> str:
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:*"],
                        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    }
                ],
            }
        )

    async def _new_key(self, username: str) -> tuple[str, str]:
        found = dict(_KEY.findall(await self._iam("CreateAccessKey", UserName=username)))
        if "AccessKeyId" not in found or "SecretAccessKey" not in found:
            raise ProvisionFailed("The S3 store's CreateAccessKey answer had no key.")
        return found["AccessKeyId"], found["SecretAccessKey"]

    async def provision(self, name: str, prefix: str) -> Provisioned:
        bucket = (self.settings.bucket_prefix + name.removeprefix("mcphost_").replace("_", "-"))[:63]
        made = await self._call("PUT", self._bucket_url(bucket), "s3")
        if made.status_code >= 300:
            raise ProvisionFailed(f"The S3 store refused to create {bucket}: HTTP {made.status_code} {made.text[:300]}")
        username = name
        try:
            await self._iam("CreateUser", UserName=username)
            await self._iam(
                "PutUserPolicy", UserName=username, PolicyName="bucket", PolicyDocument=self._policy(bucket)
            )
            key_id, secret = await self._new_key(username)
        except ProvisionFailed:
            await self.drop(bucket, username)
            raise
        return Provisioned(bucket, username, self._env(bucket, key_id, secret))

    async def rotate(self, resource: str, username: str, old_env: dict[str, str]) -> dict[str, str]:
        key_id, secret = await self._new_key(username)
        old = old_env.get("AWS_ACCESS_KEY_ID")
        if old:
            await self._iam("DeleteAccessKey", UserName=username, AccessKeyId=old)
        return self._env(resource, key_id, secret)

    async def drop(self, resource: str, username: str) -> None:
        listed = await self._iam("ListAccessKeys", UserName=username) if username else ""
        for key_id in re.findall(r"<AccessKeyId>([^<]+)</AccessKeyId>", listed):
            await self._iam("DeleteAccessKey", UserName=username, AccessKeyId=key_id)
        for action, extra in (("DeleteUserPolicy", {"PolicyName": "bucket"}), ("DeleteUser", {})):
            try:
                await self._iam(action, UserName=username, **extra)
            except ProvisionFailed as exc:
                if "NoSuchEntity" not in exc.message and "404" not in exc.message:
                    raise
        while True:  # a bucket goes only once empty
            page = await self._call("GET", self._bucket_url(resource, "list-type=2&max-keys=1000"), "s3")
            if page.status_code == 404:
                return
            keys = _LISTED_KEY.findall(page.text)
            if not keys:
                break
            for key in keys:
                await self._call("DELETE", self._bucket_url(resource) + "/" + key, "s3")
        gone = await self._call("DELETE", self._bucket_url(resource), "s3")
        if gone.status_code >= 300 and gone.status_code != 404:
            raise ProvisionFailed(f"The S3 store refused to delete {resource}: HTTP {gone.status_code}")
