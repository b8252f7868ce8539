#!/bin/sh
# The Kafka broker's TLS and SASL material for deploy/docker-compose.yml.
#
# Run by the compose service `kafka-secrets` (the apache/kafka image, for its keytool)
# before the broker starts. Writes:
#   /secrets (volume kafka-secrets, the broker's /etc/kafka/secrets; readable by the broker
#   only): kafka.keystore.p12 (the broker's key and certificate, signed by a CA made here,
#   for the hosts `kafka` and `localhost`), keystore_creds and key_creds (its password),
#   kafka_server_jaas.conf (the SASL/PLAIN users: `admin` between listeners, and one user
#   per principal named in KAFKA_CLIENT_USERS, each with the password in
#   KAFKA_PASSWORD_<NAME>, upper case with - as _), client.properties (how the admin tools
#   and the health check connect), ca.pem;
#   /ca (volume kafka-ca, mounted read-only into the services): ca.pem, the CA certificate
#   the services check the broker against (SLMESH_KAFKA_SSL_CA_FILE).
# The CA's own key is thrown away: nothing else is ever signed with it. The certificates
# are made once (`docker compose -f deploy/docker-compose.yml down -v` drops them, and the
# broker's data); the users are written at every run, so a new principal or password takes
# effect once the broker restarts.
set -eu

secrets="${KAFKA_SECRETS_DIR:-/secrets}"
ca_out="${KAFKA_CA_DIR:-/ca}"
: "${KAFKA_ADMIN_PASSWORD:?KAFKA_ADMIN_PASSWORD is not set}"
: "${KAFKA_CLIENT_USERS:?KAFKA_CLIENT_USERS is not set}"
broker_uid="${KAFKA_BROKER_UID:-1000}"
tab=$(printf '\t')

# A password is written between double quotes: one that could end the quote, or the line,
# could add a user of its own.
check_password() {
    case "$2" in
        "") echo "kafka secrets: $1 is not set" >&2; exit 1 ;;
        *[\"\\\ "$tab"]*)
            echo "kafka secrets: $1 may not hold quotes, backslashes or blanks" >&2; exit 1 ;;
    esac
    if [ "$(printf '%s' "$2" | wc -l)" -ne 0 ]; then
        echo "kafka secrets: $1 may not span lines" >&2
        exit 1
    fi
}

check_password KAFKA_ADMIN_PASSWORD "$KAFKA_ADMIN_PASSWORD"
users=""
for user in $KAFKA_CLIENT_USERS; do
    case "$user" in
        admin | *[!a-z0-9-]*) echo "kafka secrets: no user may be named '$user'" >&2; exit 1 ;;
    esac
    variable="KAFKA_PASSWORD_$(printf '%s' "$user" | tr 'a-z-' 'A-Z_')"
    password=$(printenv "$variable" || true)
    check_password "$variable" "$password"
    users="$users
  user_$user=\"$password\""
done

write_users() {
    umask 077
    cat > "$secrets/kafka_server_jaas.conf" <<JAAS
KafkaServer {
  org.apache.kafka.common.security.plain.PlainLoginModule required
  username="admin"
  password="$KAFKA_ADMIN_PASSWORD"
  user_admin="$KAFKA_ADMIN_PASSWORD"$users;
};
JAAS
    cat > "$secrets/client.properties" <<PROPERTIES
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$KAFKA_ADMIN_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=/etc/kafka/secrets/ca.pem
PROPERTIES
    chown "$broker_uid" "$secrets/kafka_server_jaas.conf" "$secrets/client.properties"
    umask 022
}

if [ -f "$secrets/.made" ] && [ -f "$ca_out/ca.pem" ]; then
    write_users
    echo "kafka secrets: certificates made before; users written"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
store_pass=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')

# The CA: a key pair whose certificate may sign others.
keytool -genkeypair -alias ca -dname "CN=slmesh compose CA" -keyalg RSA -keysize 2048 \
    -validity 3650 -ext bc:c -ext ku:c=keyCertSign,cRLSign \
    -keystore ca.p12 -storetype PKCS12 -storepass "$store_pass"
keytool -exportcert -rfc -alias ca -keystore ca.p12 -storepass "$store_pass" -file ca.pem

# The broker's key pair, and its certificate signed by the CA for the names clients use.
keytool -genkeypair -alias kafka -dname "CN=kafka" -keyalg RSA -keysize 2048 -validity 825 \
    -keystore kafka.keystore.p12 -storetype PKCS12 -storepass "$store_pass"
keytool -certreq -alias kafka -keystore kafka.keystore.p12 -storepass "$store_pass" \
    -file kafka.csr
keytool -gencert -alias ca -keystore ca.p12 -storepass "$store_pass" -infile kafka.csr \
    -outfile kafka.pem -rfc -validity 825 -ext SAN=dns:kafka,dns:localhost \
    -ext ku:c=digitalSignature,keyEncipherment -ext eku=serverAuth,clientAuth
keytool -importcert -noprompt -alias ca -file ca.pem \
    -keystore kafka.keystore.p12 -storepass "$store_pass"
keytool -importcert -noprompt -alias kafka -file kafka.pem \
    -keystore kafka.keystore.p12 -storepass "$store_pass"

umask 077
cp kafka.keystore.p12 "$secrets/kafka.keystore.p12"
printf '%s' "$store_pass" > "$secrets/keystore_creds"
printf '%s' "$store_pass" > "$secrets/key_creds"
umask 022
cp ca.pem "$secrets/ca.pem"
cp ca.pem "$ca_out/ca.pem"
chmod 0644 "$secrets/ca.pem" "$ca_out/ca.pem"
chown -R "$broker_uid" "$secrets"
write_users
touch "$secrets/.made"
echo "kafka secrets: made (CA certificate in the kafka-ca volume), users written"
