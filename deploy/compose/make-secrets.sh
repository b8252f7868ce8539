#!/bin/sh
# Fresh identities and passwords for deploy/docker-compose.yml, in a folder of their own:
#
#   SLMESH="uv run slmesh" deploy/compose/make-secrets.sh ~/.config/slmesh/compose
#   docker compose --env-file ~/.config/slmesh/compose/compose.env \
#       -f deploy/docker-compose.yml up --build
#
# Writes into the folder (made, mode 0700; it must not hold a trust file yet):
# - trust.json, the trust file: the orchestrator, each micromodel service (serving itself)
#   and the caller `console` (may call any micromodel), each with a fresh key in
#   keys/<name>.key (`slmesh trust add`);
# - compose.env (mode 0600): SLMESH_TRUST_DIR, a random password for the broker's admin,
#   for each principal's Kafka user (KAFKA_PASSWORD_<NAME>) and for Redis.
# The keys are made readable by all (0644) because the containers, uid 10001, read them
# through a bind mount; the folder's 0700 keeps everyone else on this machine out.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 FOLDER" >&2
    exit 2
fi
folder=$1
slmesh="${SLMESH:-slmesh}"
micromodels="vat-rates summarizer classifier extractor pii validator faq replier rules cleaner remediation"

if [ -e "$folder/trust.json" ]; then
    echo "$folder/trust.json exists: add identities to it with \`slmesh trust add\`" >&2
    exit 1
fi
mkdir -p "$folder"
chmod 0700 "$folder"
folder=$(cd "$folder" && pwd)

add() {
    # add NAME ROLE [slmesh trust add options]: an identity with a fresh key.
    name=$1
    role=$2
    shift 2
    $slmesh trust add "$name" --role "$role" "$@" \
        --trust-file "$folder/trust.json" --key-file "$folder/keys/$name.key" > /dev/null
    chmod 0644 "$folder/keys/$name.key"
}

add orchestrator orchestrator
for micromodel in $micromodels; do
    add "$micromodel" micromodel --serves "$micromodel"
done
add console caller --may-call '*'

password() {
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

umask 077
{
    echo "SLMESH_TRUST_DIR=$folder"
    echo "KAFKA_ADMIN_PASSWORD=$(password)"
    for name in topics-job orchestrator $micromodels console; do
        echo "KAFKA_PASSWORD_$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')=$(password)"
    done
    echo "SLMESH_REDIS_PASSWORD=$(password)"
} > "$folder/compose.env"
echo "made $folder: trust.json, keys/, compose.env"
