#!/usr/bin/env bash
# demo.sh builds the provider, starts the EC2/STS/IAM emulator (moto) on 127.0.0.1, applies
# examples/quickstart with Terraform against it, prints a summary of what was created, destroys
# it, checks moto has no instance left and stops moto. It exits non-zero on any failure,
# a failed destroy included.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
start=$SECONDS

# step prints a progress line with the seconds since the demo started.
step() { printf '[%4ds] %s\n' "$((SECONDS - start))" "$*"; }

work=$(mktemp -d)
moto_pid=
# phase names what the demo is doing, and phase_log where that step's output goes, for the
# message on failure.
phase=setup
phase_log=
cleanup() {
  local rc=$?
  if [[ -n $moto_pid ]]; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
  fi
  if ((rc != 0)); then
    step "FAILED during $phase (exit $rc)"
    if [[ -n $phase_log && -s $phase_log ]]; then
      echo "--- the last lines of its output ($(basename "$phase_log")):"
      tail -n 40 "$phase_log"
    fi
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

step "installing or reusing the pinned tools (moto, Terraform)"
tools/tools.sh moto terraform
eval "$(tools/tools.sh env)"
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1

phase="building the provider"
step "building the provider"
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

phase="starting moto" phase_log=$work/moto.log
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
endpoint=http://127.0.0.1:$port
step "starting moto (EC2, STS, IAM emulator) on 127.0.0.1:$port"
# Seeded with Canonical's Ubuntu 24.04 images, which moto does not ship. botocore inside moto
# must see no AWS_* setting (a profile of the caller's would break it).
(
  for v in $(compgen -e); do if [[ $v == AWS_* ]]; then unset "$v"; fi; done
  MOTO_AMIS_PATH=$root/internal/acctest/testdata/amis.json exec "$EC2K8S_MOTO_SERVER" -H 127.0.0.1 -p "$port"
) >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 150); do
  curl -sf "$endpoint/moto-api/data.json" >/dev/null && break
  kill -0 "$moto_pid" 2>/dev/null || break
  sleep 0.2
done
curl -sf "$endpoint/moto-api/data.json" >/dev/null

# The SDK's own variables point every AWS call at moto, with throw-away credentials; the
# example itself names no endpoint, and works unchanged against AWS.
export AWS_ENDPOINT_URL=$endpoint
export AWS_ACCESS_KEY_ID=AKIADEMODEMODEMODEMO AWS_SECRET_ACCESS_KEY=demo-secret-not-real
export AWS_REGION=us-west-2 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=$work/none AWS_SHARED_CREDENTIALS_FILE=$work/none
unset AWS_PROFILE AWS_SESSION_TOKEN

cp -r "$root/examples/quickstart" "$work/quickstart"
cd "$work/quickstart"
tf() { "$EC2K8S_TERRAFORM" "$@"; }
# progress reads the CLI's output and prints its milestones as progress lines.
progress() {
  local line
  while IFS= read -r line; do
    case $line in
      *"Creation complete"* | *"Destruction complete"* | *"Read complete"* | *"Still "*"ing..."* | *"complete! Resources:"*)
        step "  ${line}" ;;
    esac
  done
}

phase="terraform apply" phase_log=$work/apply.log
step "terraform apply of examples/quickstart with $(tf version | head -1), -var wait_for_active=false"
tf apply -auto-approve -input=false -no-color -var wait_for_active=false 2>&1 | tee "$work/apply.log" | progress

phase="reading the outputs" phase_log=
tf output -json >"$work/outputs.json"
tf state list >"$work/state.txt"
step "applied: $(wc -l <"$work/state.txt") objects in the state"

echo
python3 - "$work/outputs.json" "$endpoint" <<'PY'
import json
import sys

out = {k: v.get("value") for k, v in json.load(open(sys.argv[1])).items()}
endpoint = sys.argv[2]
nodes = out.get("nodes") or []
if not nodes:
    sys.exit("the quickstart's nodes output is empty")
pools = sorted({n["pool"] for n in nodes})
print(f'Cluster "demo": {len(nodes)} nodes in {len(pools)} pools, on the EC2 emulator at {endpoint}')
print()
head = ("POOL", "ROLES", "NODE NAME", "INSTANCE ID", "PRIVATE IP", "STATE")
rows = [(n["pool"], ",".join(n["roles"]), n["name"], n["instance_id"], n["private_ip"], n["state"]) for n in nodes]
widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
for r in [head] + rows:
    print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
print()
tpl = out.get("node_template") or {}
print(f'Node template: {tpl.get("instance_type")} from {tpl.get("ami")} in {tpl.get("availability_zone")} '
      f'(subnet {tpl.get("subnet_id")} of {tpl.get("vpc_id")})')
policy = json.loads(out.get("provisioner_policy") or "{}")
print(f'IAM policy:    output provisioner_policy, {len(policy.get("Statement", []))} statements: attach it to the credential\'s identity')
print()
print(f'Cluster state: {out.get("cluster_state")}')
print("  On the emulator an instance is only a record: nothing boots and no kubelet ever registers, so the")
print("  demo applies with -var wait_for_active=false and Kubernetes is not checked.")
print("  On AWS (wait_for_active = true, the default) every node runs its cloud-init user data, installs")
print("  RKE2 for its roles and joins the cluster; ec2k8s_cluster_sync waits until the API is ready and every")
print('  node is Ready, and cluster_state is then "active".')
print()
kubeconfig = out.get("kubeconfig")
print("Kubeconfig:    " + ("present (sensitive)" if kubeconfig else "none here (output kubeconfig is null without the sync). On AWS:"))
print("  terraform output -raw kubeconfig > kubeconfig && KUBECONFIG=$PWD/kubeconfig kubectl get nodes")
PY
echo

phase="terraform destroy" phase_log=$work/destroy.log
step "terraform destroy"
tf destroy -auto-approve -input=false -no-color -var wait_for_active=false 2>&1 | tee "$work/destroy.log" | progress
if [[ -n $(tf state list) ]]; then
  echo "the state still holds objects after destroy:" >&2
  tf state list >&2
  exit 1
fi

phase="checking moto" phase_log=
# Ask moto itself, with the boto3 of its own virtualenv, for instances that are not terminated.
live=$("$(dirname "$EC2K8S_MOTO_SERVER")/python" - "$endpoint" <<'PY'
import sys

import boto3

ec2 = boto3.client("ec2", endpoint_url=sys.argv[1], region_name="us-west-2")
pages = ec2.get_paginator("describe_instances").paginate(
    Filters=[{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped", "shutting-down"]}])
print(sum(len(r["Instances"]) for p in pages for r in p["Reservations"]))
PY
)
if [[ $live != 0 ]]; then
  echo "moto still has $live live instances after destroy" >&2
  exit 1
fi
step "destroyed: no object in the state, no live instance on moto"

phase="stopping moto" phase_log=
kill "$moto_pid"
wait "$moto_pid" 2>/dev/null || true
moto_pid=
step "demo passed: built, applied, printed, destroyed against moto on 127.0.0.1:$port, moto stopped"
