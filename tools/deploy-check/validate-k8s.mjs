// Validates rendered Kubernetes manifests (kubectl kustomize output, multi-document YAML).
//
//   node tools/deploy-check/validate-k8s.mjs [--rules-out=FILE] [--expect=base|sharded|example-secret] FILE...
//
// 1. Schema: every object against the Kubernetes OpenAPI schema bundled in kubernetes-models;
//    monitoring.coreos.com/v1 objects against @kubernetes-models/prometheus-operator.
// 2. Structure of ServiceMonitor and PrometheusRule, field by field (the schemas accept unknown
//    fields, so misspelt ones would slip through): endpoints[].port/path/interval,
//    groups[].name/rules[], every rule exactly one of alert|record, expr, and only
//    for/labels/annotations/keep_firing_for besides.
// 3. The project's deployment policy (--expect): one Deployment or a 3-replica StatefulSet with
//    --shard.count equal to replicas and a headless governing Service, restricted
//    securityContext, probes, resources, token from the Secret mist-pcap-exporter-token (created
//    by the user: no Secret and no Namespace in base/sharded; example-secret renders exactly one
//    generated Secret), port 10052 named metrics, NetworkPolicy egress 443 + DNS and ingress
//    10052. Every kind at its current apiVersion (API_VERSIONS).
// --rules-out writes the PrometheusRule's groups as a rules file for `promtool check rules`.
// Exit status 1 on any problem.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('--'));
const opt = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split('=').slice(1).join('=');
const rulesOut = opt('rules-out');
const expect = opt('expect');

let failed = 0;
const fail = (msg) => { failed++; console.error(`FAIL ${msg}`); };
const objects = [];
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

async function modelFor(apiVersion, kind) {
  const candidates = apiVersion.startsWith('monitoring.coreos.com/')
    ? [`@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`]
    : [`kubernetes-models/${apiVersion}/${kind}`, `kubernetes-models/${apiVersion}`];
  for (const path of candidates) {
    try {
      const mod = await import(path);
      if (mod[kind]) return mod[kind];
    } catch { /* try the next form */ }
  }
  return null;
}

for (const file of files) {
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (doc.errors.length) { fail(`${file}: YAML error ${doc.errors[0].message}`); continue; }
    const obj = doc.toJS();
    if (!obj) continue;
    if (isObj(obj) && Object.keys(obj).length === 0) {
      // kustomize v2.0.3 (kubectl <= 1.20) leaves `{}` where a `$patch: delete` removed an object.
      console.log(`skip ${file}: empty document (left by a kustomize v2 $patch: delete)`);
      continue;
    }
    const id = `${file}: ${obj.kind}/${obj.metadata?.name}`;
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) { fail(`${id}: needs apiVersion, kind, metadata.name`); continue; }
    const Model = await modelFor(obj.apiVersion, obj.kind);
    if (!Model) { fail(`${id}: no schema for ${obj.apiVersion} ${obj.kind}`); continue; }
    try {
      new Model(obj).validate();
      console.log(`ok   ${id} (${obj.apiVersion})`);
    } catch (e) {
      fail(`${id}: ${e.message}`);
    }
    objects.push(obj);
  }
}

// The only kinds the manifests and the chart may render, each at its current (GA, not deprecated)
// apiVersion: a policy/v1beta1 PDB or networking.k8s.io/v1beta1 object would fail here even where
// the bundled schemas still know it.
const API_VERSIONS = {
  ServiceAccount: 'v1', ConfigMap: 'v1', Secret: 'v1', Service: 'v1', PersistentVolumeClaim: 'v1',
  Deployment: 'apps/v1', StatefulSet: 'apps/v1', NetworkPolicy: 'networking.k8s.io/v1',
  PodDisruptionBudget: 'policy/v1', ServiceMonitor: 'monitoring.coreos.com/v1',
  PrometheusRule: 'monitoring.coreos.com/v1',
};
for (const o of objects) {
  const want = API_VERSIONS[o.kind];
  if (!want) fail(`${o.kind}/${o.metadata.name}: unexpected kind`);
  else if (o.apiVersion !== want) fail(`${o.kind}/${o.metadata.name}: apiVersion ${o.apiVersion}, want ${want}`);
}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

function checkKeys(where, obj, allowed) {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(`${where}: unknown field ${k}`);
}

function checkServiceMonitor(sm) {
  const where = `ServiceMonitor/${sm.metadata.name}`;
  const spec = sm.spec;
  if (!isObj(spec)) return fail(`${where}: missing spec`);
  if (!isObj(spec.selector) || !(isObj(spec.selector.matchLabels) || Array.isArray(spec.selector.matchExpressions))) {
    fail(`${where}: spec.selector needs matchLabels or matchExpressions`);
  }
  if (!Array.isArray(spec.endpoints) || spec.endpoints.length === 0) return fail(`${where}: spec.endpoints must be a non-empty list`);
  spec.endpoints.forEach((ep, i) => {
    const w = `${where} endpoints[${i}]`;
    if (typeof ep.port !== 'string' || !ep.port) fail(`${w}: port must be a Service port name`);
    if (typeof ep.path !== 'string' || !ep.path.startsWith('/')) fail(`${w}: path must start with /`);
    if (!DURATION.test(ep.interval ?? '')) fail(`${w}: interval must be a duration like 30s`);
    if (ep.scrapeTimeout !== undefined && !DURATION.test(ep.scrapeTimeout)) fail(`${w}: bad scrapeTimeout`);
  });
  // The selector must find a Service exposing that port name.
  const svc = objects.filter((o) => o.kind === 'Service' && o.metadata.namespace === sm.metadata.namespace
    && Object.entries(spec.selector.matchLabels ?? {}).every(([k, v]) => o.metadata.labels?.[k] === v));
  if (svc.length === 0) fail(`${where}: selector matches no Service`);
  for (const ep of spec.endpoints) {
    if (!svc.some((s) => s.spec.ports?.some((p) => p.name === ep.port))) fail(`${where}: no selected Service has port ${ep.port}`);
  }
}

function checkPrometheusRule(pr) {
  const where = `PrometheusRule/${pr.metadata.name}`;
  const groups = pr.spec?.groups;
  if (!Array.isArray(groups) || groups.length === 0) return fail(`${where}: spec.groups must be a non-empty list`);
  const names = new Set();
  groups.forEach((g, gi) => {
    const gw = `${where} groups[${gi}]`;
    checkKeys(gw, g, ['name', 'interval', 'rules', 'partial_response_strategy', 'limit', 'query_offset', 'labels']);
    if (typeof g.name !== 'string' || !g.name) fail(`${gw}: name required`);
    if (names.has(g.name)) fail(`${gw}: duplicate group name ${g.name}`);
    names.add(g.name);
    if (!Array.isArray(g.rules) || g.rules.length === 0) return fail(`${gw}: rules must be a non-empty list`);
    g.rules.forEach((r, ri) => {
      const rw = `${gw}.rules[${ri}] ${r.alert ?? r.record ?? ''}`;
      checkKeys(rw, r, ['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);
      if (('alert' in r) === ('record' in r)) fail(`${rw}: needs exactly one of alert or record`);
      if (typeof r.expr !== 'string' || !r.expr.trim()) fail(`${rw}: expr must be a non-empty string`);
      if (r.for !== undefined && !DURATION.test(r.for)) fail(`${rw}: for must be a duration`);
      if (r.labels !== undefined && !isObj(r.labels)) fail(`${rw}: labels must be a map`);
      if ('record' in r && (r.for !== undefined || r.annotations !== undefined)) fail(`${rw}: recording rules take no for/annotations`);
      if ('alert' in r) {
        if (!r.labels?.severity) fail(`${rw}: labels.severity required`);
        for (const k of ['summary', 'description', 'runbook_url']) {
          if (typeof r.annotations?.[k] !== 'string' || !r.annotations[k]) fail(`${rw}: annotations.${k} required`);
        }
      }
    });
  });
  if (rulesOut) {
    writeFileSync(rulesOut, stringify({ groups }));
  }
}

function checkPod(where, tmpl) {
  const pod = tmpl?.spec;
  if (!pod) return fail(`${where}: no pod template`);
  const psc = pod.securityContext ?? {};
  if (psc.runAsNonRoot !== true) fail(`${where}: pod runAsNonRoot must be true`);
  if (psc.seccompProfile?.type !== 'RuntimeDefault') fail(`${where}: pod seccompProfile RuntimeDefault required`);
  const c = pod.containers?.[0];
  if (!c) return fail(`${where}: no container`);
  const sc = c.securityContext ?? {};
  if ((sc.runAsUser ?? psc.runAsUser) !== 65532) fail(`${where}: runAsUser must be 65532`);
  if (sc.readOnlyRootFilesystem !== true) fail(`${where}: readOnlyRootFilesystem required`);
  if (sc.allowPrivilegeEscalation !== false) fail(`${where}: allowPrivilegeEscalation must be false`);
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) fail(`${where}: capabilities must drop ALL`);
  if (c.image !== 'mist-pcap-exporter:0.1.0') fail(`${where}: image must be mist-pcap-exporter:0.1.0`);
  if (!(c.args ?? []).includes('--config.file=/etc/mist-pcap-exporter/config.yaml')) fail(`${where}: --config.file arg missing`);
  const tok = (c.env ?? []).find((e) => e.name === 'MIST_API_TOKEN');
  const ref = tok?.valueFrom?.secretKeyRef;
  if (!ref?.name || ref.key !== 'token') fail(`${where}: MIST_API_TOKEN must come from key token of a Secret`);
  else if (expect === 'example-secret') {
    // The overlay's secretGenerator adds a hash suffix; kustomize must have rewritten the reference.
    if (!objects.some((o) => o.kind === 'Secret' && o.metadata.name === ref.name && 'token' in (o.data ?? {}))) {
      fail(`${where}: Secret ${ref.name} with key token not rendered`);
    }
  } else if (ref.name !== 'mist-pcap-exporter-token') {
    fail(`${where}: MIST_API_TOKEN must come from the user-created Secret mist-pcap-exporter-token`);
  }
  if (!(c.ports ?? []).some((p) => p.name === 'metrics' && p.containerPort === 10052)) fail(`${where}: containerPort 10052 named metrics required`);
  if (c.livenessProbe?.httpGet?.path !== '/healthz') fail(`${where}: livenessProbe must GET /healthz`);
  if (c.readinessProbe?.httpGet?.path !== '/readyz') fail(`${where}: readinessProbe must GET /readyz`);
  for (const k of ['requests', 'limits']) {
    if (!c.resources?.[k]?.cpu || !c.resources?.[k]?.memory) fail(`${where}: resources.${k} cpu and memory required`);
  }
  for (const v of pod.volumes ?? []) {
    if (v.configMap && !objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === v.configMap.name)) {
      fail(`${where}: volume ${v.name} refers to ConfigMap ${v.configMap.name}, which is not rendered`);
    }
  }
  const cm = objects.find((o) => o.kind === 'ConfigMap' && (pod.volumes ?? []).some((v) => v.configMap?.name === o.metadata.name));
  if (cm && !('config.yaml' in (cm.data ?? {}))) fail(`${where}: ConfigMap ${cm.metadata.name} lacks config.yaml`);
  return c;
}

function checkPolicy() {
  const deps = objects.filter((o) => o.kind === 'Deployment');
  const sts = objects.filter((o) => o.kind === 'StatefulSet');
  const svc = objects.find((o) => o.kind === 'Service');
  if (expect === 'base' || expect === 'example-secret') {
    if (deps.length !== 1 || sts.length !== 0) fail('base: expected exactly one Deployment and no StatefulSet');
    if (deps[0]?.spec.replicas !== 1) fail('base: Deployment needs replicas 1');
    if (deps[0]) checkPod(`Deployment/${deps[0].metadata.name}`, deps[0].spec.template);
  } else if (expect === 'sharded') {
    if (deps.length !== 0 || sts.length !== 1) fail('sharded: expected exactly one StatefulSet and no Deployment');
    const s = sts[0];
    if (s) {
      if (s.spec.replicas !== 3) fail('sharded: StatefulSet needs replicas 3');
      const c = checkPod(`StatefulSet/${s.metadata.name}`, s.spec.template);
      if (c && !(c.args ?? []).includes(`--shard.count=${s.spec.replicas}`)) fail('sharded: --shard.count must equal replicas');
      if (c && (c.args ?? []).some((a) => a.startsWith('--shard.index'))) fail('sharded: --shard.index must come from $HOSTNAME, not a fixed arg');
      const gov = objects.find((o) => o.kind === 'Service' && o.metadata.name === s.spec.serviceName);
      if (!gov) fail(`sharded: governing Service ${s.spec.serviceName} not rendered`);
      else if (gov.spec.clusterIP !== 'None') fail('sharded: governing Service must be headless (clusterIP: None)');
    }
  }
  if (!svc?.spec.ports?.some((p) => p.name === 'metrics' && p.port === 10052)) fail('Service needs port 10052 named metrics');
  const np = objects.find((o) => o.kind === 'NetworkPolicy');
  if (!np) fail('NetworkPolicy missing');
  else {
    const egress = (np.spec.egress ?? []).flatMap((r) => r.ports ?? []);
    const has = (proto, port) => egress.some((p) => (p.protocol ?? 'TCP') === proto && p.port === port);
    if (!has('TCP', 443)) fail('NetworkPolicy: egress TCP 443 missing');
    if (!has('UDP', 53) || !has('TCP', 53)) fail('NetworkPolicy: egress DNS 53 UDP and TCP missing');
    const ingress = (np.spec.ingress ?? []).flatMap((r) => r.ports ?? []);
    if (!ingress.some((p) => p.port === 10052 || p.port === 'metrics')) fail('NetworkPolicy: ingress to 10052 missing');
    if (!(np.spec.policyTypes ?? []).includes('Egress')) fail('NetworkPolicy: policyTypes must include Egress');
  }
  for (const kind of ['ServiceMonitor', 'PrometheusRule', 'ConfigMap']) {
    if (!objects.some((o) => o.kind === kind)) fail(`${kind} missing`);
  }
  // The namespace is the user's (or an overlay's) choice, and the token never lives in Git: only
  // the example overlay may render a Secret, and nothing renders a Namespace.
  if (objects.some((o) => o.kind === 'Namespace')) fail(`${expect}: no Namespace object expected`);
  const secrets = objects.filter((o) => o.kind === 'Secret').length;
  if (secrets !== (expect === 'example-secret' ? 1 : 0)) fail(`${expect}: ${secrets} Secret(s) rendered`);
  if (expect === 'example-secret' && objects.some((o) => o.metadata.namespace !== 'mist-pcap-exporter')) {
    fail('example-secret: every object must be in namespace mist-pcap-exporter');
  }
}

for (const o of objects) {
  if (o.kind === 'ServiceMonitor') checkServiceMonitor(o);
  if (o.kind === 'PrometheusRule') checkPrometheusRule(o);
}
if (expect) checkPolicy();

const summary = `${objects.length} objects${expect ? ` (${expect} policy)` : ''}`;
if (failed) { console.error(`FAILED: ${failed} problem(s) in ${summary}`); process.exit(1); }
console.log(`OK: ${summary} valid`);
