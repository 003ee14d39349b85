"""Another department's script: use certificates from a share service with only its own key.

    python examples/share_client.py --server http://127.0.0.1:8600 --app-id tax-bureau \
        --key tax.key.pem --service-cert demo-out/keys/issuer.cert.pem \
        --holder-code 91110108MA01B2C344 --holder-type 001 --type 11100000MB0143028R001

It searches the holder's certificates, gets the first one's number and holder (only those two
fields), downloads its signed file, verifies the fields it was given (数据核验) and the file
(文件核验), each request signed with the application's SM2 key and each answer checked against
the service certificate.  Every call states why (用证事由) and leaves a usage record the holder can
see.  Exit status 0 when both verifications pass, 1 when one does not, 2 when the service refuses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecert.crypto.keys import load_private_key
from ecert.crypto.x509 import load_certificates
from ecert.errors import EcertError
from ecert.share import Client


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True)
    ap.add_argument("--app-id", required=True)
    ap.add_argument("--key", required=True, type=Path)
    ap.add_argument("--service-cert", required=True, type=Path)
    ap.add_argument("--holder-code", required=True)
    ap.add_argument("--holder-type", default="001")
    ap.add_argument("--type", required=True)
    ap.add_argument("--reason", default="办理企业开办登记，核验营业执照")
    ap.add_argument("--out", type=Path, default=Path("."))
    args = ap.parse_args()
    try:
        key = load_private_key(args.key.read_bytes())
        service = load_certificates(args.service_cert.read_bytes())[0]
        client = Client(args.server, app_id=args.app_id, key=key, service_key=service, operator="王经办")
        with client:
            found = client.search(args.holder_code, args.holder_type, args.type, reason=args.reason)
            print(f"search: {len(found)} certificate(s) of {args.holder_code}")
            if not found:
                return 1
            identifier = found[0]["certIdentifier"]
            fields = client.get(identifier, ["ZZBH", "CZZT"], reason=args.reason)["metadata"]
            print(f"get: {identifier} number {fields['ZZBH']} holder {fields['CZZT']}")
            data = client.download(identifier, reason=args.reason)
            target = args.out / f"{identifier}.ofd"
            target.write_bytes(data)
            print(f"download: {target} ({len(data)} bytes)")
            given = {"ZZBS": identifier, "ZZBH": fields["ZZBH"], "CZZT": fields["CZZT"]}
            checked = client.verify_data(args.type, given, reason=args.reason)
            print(f"verify-data: {checked['result']} {checked['message']}")
            verified = client.verify_file(data, reason=args.reason)
            print(f"verify-file: {verified['result']} {verified['message']}")
    except (EcertError, OSError, IndexError) as exc:
        print(f"share_client: {exc}", file=sys.stderr)
        return 2
    return 0 if checked["result"] == 0 and verified["result"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
