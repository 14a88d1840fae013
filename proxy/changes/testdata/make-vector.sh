#!/bin/sh
# Regenerates the fixed test vector with OpenSSL, an implementation
# independent of the package: a test key and certificate (PEM and a
# PKCS#12 with password "test"), and a rich notification's
# encryptedContent built the way Graph documents it.
set -e
cd "$(dirname "$0")"
openssl req -x509 -newkey rsa:2048 -nodes -keyout app-key.pem -out app-cert.pem -days 36500 -subj "/CN=graphvcr test app" 2>/dev/null
openssl rsa -in app-key.pem -traditional -out app-key-pkcs1.pem 2>/dev/null
openssl pkcs12 -export -inkey app-key.pem -in app-cert.pem -passout pass:test -out app.pfx
printf '%s' '{"@odata.type":"#Microsoft.Graph.presence","id":"66825e03-7ef5-42da-9069-4082c9041a0b","availability":"Busy","activity":"InACall"}' > vector-plain.json
key=$(openssl rand -hex 32)
iv=$(printf '%s' "$key" | cut -c1-32)
openssl enc -aes-256-cbc -K "$key" -iv "$iv" -in vector-plain.json -out vector.data.bin
sig=$(openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary vector.data.bin | base64 -w0)
printf '%s' "$key" | xxd -r -p > vector.key.bin
openssl pkeyutl -encrypt -certin -inkey app-cert.pem -in vector.key.bin -out vector.wrapped.bin \
	-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1
thumb=$(openssl x509 -in app-cert.pem -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :)
printf '{"data":"%s","dataSignature":"%s","dataKey":"%s","encryptionCertificateId":"test-cert-1","encryptionCertificateThumbprint":"%s"}\n' \
	"$(base64 -w0 vector.data.bin)" "$sig" "$(base64 -w0 vector.wrapped.bin)" "$thumb" > vector-encrypted.json
rm -f vector.data.bin vector.key.bin vector.wrapped.bin
