// Small helpers for Prometheus rules (no external library: the mixin must build with Debian's
// jsonnet alone).
{
  // An alerting rule. expr is formatted with the config (%(selector)s etc.); annotations are
  // not, because they hold Prometheus templates and literal percent signs.
  alert(c, name, severity, expr, forDuration, summary, description):: {
    alert: name,
    expr: expr % c,
    [if forDuration != '0m' then 'for']: forDuration,
    labels: { severity: c.severities[severity] },
    annotations: {
      summary: summary,
      description: description,
      runbook_url: '%s#runbook-%s' % [c.runbookURLBase, std.asciiLower(name)],
    },
  },

  record(c, name, expr):: { record: name % c, expr: expr % c },

  // The token condition shared by MistPcapAPITokenRefused and the alerts it suppresses: Mist
  // answered 401/403 and nothing with 2xx within the window, per exporter.
  tokenRefused(c)::
    |||
      (
        sum by (job, instance) (increase(mist_pcap_api_requests_total{%(selector)s, code=~"401|403"}[%(tokenRefusedWindow)s])) > 0
        unless on (job, instance)
        sum by (job, instance) (increase(mist_pcap_api_requests_total{%(selector)s, code=~"2.."}[%(tokenRefusedWindow)s])) > 0
      )
    ||| % c,

  // Failed Mist API answers. 404 on capture_status is how Mist says "no capture runs" and so
  // is not an error; every other non-2xx answer (429, 5xx, 401/403, "error" = no answer) is.
  // selector: extra matchers ('' in dashboards, which do not filter by job).
  apiErrors(c, range, selector=c.selector)::
    local m = if selector == '' then '' else selector + ', ';
    |||
        rate(mist_pcap_api_requests_total{%(m)scode!~"2..", endpoint!="capture_status"}[%(range)s])
        or
        rate(mist_pcap_api_requests_total{%(m)scode!~"2..|404", endpoint="capture_status"}[%(range)s])
    ||| % { m: m, range: range },

  // Adds ap_name to every series of expr (which must carry site_id and ap_mac): the AP's name
  // in the Mist inventory (mist_pcap_ap_info), else its MAC, as the dashboards show it. The
  // fallback names come from metric (the family expr reads), so expr is evaluated once; max
  // by () collapses the copies that several exporters report for one AP.
  withApName(c, expr, metric)::
    |||
      (
        %(e)s
      )
      * on (site_id, ap_mac) group_left (ap_name)
      (
        max by (site_id, ap_mac, ap_name) (mist_pcap_ap_info{%(sel)s, ap_name!=""})
        or on (site_id, ap_mac)
        label_replace(
          group by (site_id, ap_mac) (%(m)s{%(sel)s}),
          "ap_name", "$1", "ap_mac", "(.+)"
        )
      )
    ||| % { e: $.indent(std.stripChars(expr, '\n'), 2), sel: c.selector, m: metric },

  // Indents every non-empty line of s but the first by n spaces (for multi-line PromQL
  // placed into an indented template line).
  indent(s, n)::
    local pad = std.repeat(' ', n);
    local lines = std.split(s, '\n');
    std.join('\n', [lines[0]] + [if l == '' then l else pad + l for l in lines[1:]]),
}
