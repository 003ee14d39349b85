#!/bin/sh
# Regenerates the OpenSSL-made test vectors in this directory (OpenSSL 3.0.19, 27 Jan 2026).
# The committed files are fixed data: tests read them, they never run this script.
set -e
openssl genpkey -algorithm SM2 -out sm2_pkcs8.pem
openssl ec -in sm2_pkcs8.pem -out sm2_sec1.pem
openssl pkcs8 -topk8 -v2 aes-256-cbc -in sm2_pkcs8.pem -passout pass:ecert-test -out sm2_pkcs8_aes256.pem
openssl pkcs8 -topk8 -v2 sm4-cbc -in sm2_pkcs8.pem -passout pass:ecert-test -out sm2_pkcs8_sm4.pem
openssl pkey -in sm2_pkcs8.pem -pubout -out sm2_public.pem
openssl req -x509 -new -key sm2_pkcs8.pem -sm3 -sigopt distid:1234567812345678 -subj /CN=test -days 30 \
    -set_serial 1 -out sm2_selfsigned_distid.pem
openssl req -x509 -new -key sm2_pkcs8.pem -sm3 -subj /CN=test -days 30 -set_serial 2 \
    -out sm2_selfsigned_emptyid.pem
openssl pkcs12 -export -inkey sm2_pkcs8.pem -in sm2_selfsigned_distid.pem -passout pass:ecert-test \
    -out sm2.p12
printf 'message digest' > message.txt
openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt distid:1234567812345678 -inkey sm2_pkcs8.pem \
    -in message.txt -out sm2_message.sig
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256_pkcs8.pem
openssl req -x509 -new -key p256_pkcs8.pem -sha256 -subj /CN=test -days 30 -set_serial 3 -out p256_selfsigned.pem
openssl dgst -sha256 -sign p256_pkcs8.pem -out p256_message.sig message.txt
openssl pkcs12 -export -inkey p256_pkcs8.pem -in p256_selfsigned.pem -passout pass:ecert-test -out p256.p12
