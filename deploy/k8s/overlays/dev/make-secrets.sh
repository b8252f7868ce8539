#!/bin/sh
# Fresh secrets for the dev cluster's mesh, as a YAML stream for `kubectl apply -f -`:
#
#   SLMESH="uv run slmesh" deploy/k8s/overlays/dev/make-secrets.sh | kubectl apply -f -
#   kubectl apply -k deploy/k8s/overlays/dev
#
# Makes, in the namespace slmesh-dev (or $1):
# - the trust file (ConfigMap slmesh-trust): an identity per service (the orchestrator and
#   each micromodel, serving itself), the caller `console` (may call any micromodel) and the
#   operator `operator`, each with a fresh key (`slmesh trust add`);
# - one Secret per principal, slmesh-<name>: its Kafka user and a random password, and
#   for an identity its signing key; slmesh-topics-job for the topics job;
# - the broker's users (Secret kafka-jaas) and the Redis password (Secret slmesh-redis).
# Nothing is kept: the keys live in a folder removed at exit. Run again, it makes new keys
# and passwords: apply them, then restart the broker and the services.
set -eu

namespace="${1:-slmesh-dev}"
slmesh="${SLMESH:-slmesh}"
micromodels="vat-rates summarizer classifier extractor pii validator faq replier rules cleaner remediation"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077

password() {
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

add() {
    # add NAME ROLE [slmesh trust add options]: an identity with a fresh key.
    name=$1
    role=$2
    shift 2
    $slmesh trust add "$name" --role "$role" "$@" \
        --trust-file "$work/trust.json" --key-file "$work/$name.key" > /dev/null
}

add orchestrator orchestrator
for micromodel in $micromodels; do
    add "$micromodel" micromodel --serves "$micromodel"
done
add console caller --may-call '*'
add operator operator

indented() {
    sed 's/^/    /' "$1"
}

cat <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $namespace
YAML
admin_password=$(password)
users=""
for name in topics-job orchestrator $micromodels console operator; do
    secret_password=$(password)
    users="$users
  user_$name=\"$secret_password\""
    cat <<YAML
---
apiVersion: v1
kind: Secret
metadata:
  name: slmesh-$name
  namespace: $namespace
type: Opaque
stringData:
  kafka-username: $name
  kafka-password: $secret_password
YAML
    if [ -f "$work/$name.key" ]; then
        printf '  signing.key: %s\n' "$(cat "$work/$name.key")"
    fi
done

cat > "$work/jaas.conf" <<JAAS
KafkaServer {
  org.apache.kafka.common.security.plain.PlainLoginModule required
  username="admin"
  password="$admin_password"
  user_admin="$admin_password"$users;
};
JAAS

cat <<YAML
---
apiVersion: v1
kind: Secret
metadata:
  name: kafka-jaas
  namespace: $namespace
type: Opaque
stringData:
  kafka_server_jaas.conf: |
$(indented "$work/jaas.conf")
---
apiVersion: v1
kind: Secret
metadata:
  name: slmesh-redis
  namespace: $namespace
type: Opaque
stringData:
  password: $(password)
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: slmesh-trust
  namespace: $namespace
data:
  trust.json: |
$(indented "$work/trust.json")
YAML
