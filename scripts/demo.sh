#!/usr/bin/env bash
# demo.sh builds the provider, starts the EC2/STS/IAM emulator (moto) on 127.0.0.1, applies
# examples/quickstart with Terraform against it, prints what was created, then destroys it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

tools/tools.sh moto terraform
eval "$(tools/tools.sh env)"
export CHECKPOINT_DISABLE=1

work=$(mktemp -d)
moto_pid=
cleanup() {
  if [[ -n $moto_pid ]]; then kill "$moto_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building the provider"
go build -o "$work/plugins/terraform-provider-ec2k8s" .

# dev_overrides makes Terraform use the fresh build without a registry.
cat >"$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/ec2k8s/ec2k8s" = "$work/plugins"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE=$work/terraformrc

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "== starting moto on 127.0.0.1:$port"
# Seeded with Canonical's Ubuntu 24.04 images, which moto does not ship.
MOTO_AMIS_PATH=$root/internal/acctest/testdata/amis.json \
  "$EC2K8S_MOTO_SERVER" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/moto-api/data.json" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$port/moto-api/data.json" >/dev/null || { cat "$work/moto.log"; exit 1; }

# The SDK's own variables point every AWS call at moto, with throw-away credentials.
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=AKIADEMODEMODEMODEMO AWS_SECRET_ACCESS_KEY=demo-secret-not-real
export AWS_REGION=us-west-2 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=$work/none AWS_SHARED_CREDENTIALS_FILE=$work/none
unset AWS_PROFILE AWS_SESSION_TOKEN

cp -r "$root/examples/quickstart" "$work/quickstart"
cd "$work/quickstart"
tf() { "$EC2K8S_TERRAFORM" "$@" 2> >(grep -v -e 'Provider development overrides' -e 'dev_overrides' >&2); }

echo "== terraform apply ($("$EC2K8S_TERRAFORM" version | head -1))"
tf apply -auto-approve -input=false -no-color | grep -E "Creating|Creation complete|Read complete|Apply complete"
echo "== what was created"
tf state list
tf output -no-color
echo "== terraform destroy"
tf destroy -auto-approve -input=false -no-color | grep -E "Destroying|Destruction complete|Destroy complete"
echo "== demo finished: everything applied and destroyed against moto on 127.0.0.1:$port"
