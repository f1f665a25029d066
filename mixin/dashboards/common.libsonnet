// What the dashboards share: variables, the AP-name join and the worst-N pattern.
local g = import '../lib/grafana.libsonnet';

{
  // Panels filter by site_id (unique, and what drill-down links carry); the site variable
  // picks by name and narrows site_id.
  sites:: 'site_id=~"$site_id"',
  siteAndAP:: 'site_id=~"$site_id", ap_mac=~"$ap"',

  // Adds ap_name to every series of expr (which must carry site_id and ap_mac): the name from
  // the Mist inventory (mist_pcap_ap_info) when it has one, else the MAC, so that APs missing
  // from the inventory or unnamed there are still listed. The name is the last one seen over
  // $__rate_interval, not the instant value: a failed scrape marks every series stale until
  // the next good one, and an instant join would draw each AP a second time, by MAC, for those
  // steps. topk by (site_id, ap_mac) (1, ...) keeps one name per AP: the copies several
  // exporters (shards, HA pairs) report, and an old and a new name while an AP is renamed.
  withApName(expr)::
    |||
      (%(e)s) * on (site_id, ap_mac) group_left (ap_name) topk by (site_id, ap_mac) (1, last_over_time(mist_pcap_ap_info{ap_name!=""}[$__rate_interval]))
      or on (site_id, ap_mac)
      label_replace(%(e)s, "ap_name", "$1", "ap_mac", "(.+)")
    ||| % { e: expr },

  // Worst-N for graphs: topk inside a range query picks N series per step, and over an hour
  // those add up to far more than N lines. The ranking below is evaluated once at the end
  // of the range (@ end()), so the graph draws the same N series throughout.
  //   draw:  the per-step expression; rank: an instant expression using @ end() whose labels
  //   include `on`.
  topN(draw, on, rank, k='topk')::
    '(%s)\nand on (%s)\n%s($topn, %s)' % [draw, on, k, rank],

  variables(c):: [
    g.datasourceVariable,
    g.queryVariable('site', 'Site', 'label_values(mist_pcap_up, site)'),
    g.queryVariable('site_id', 'Site id', 'label_values(mist_pcap_up{site=~"$site"}, site_id)'),
    // APs that stream packets or failed to join a capture (a failed AP never streams), shown
    // by name; the value stays the MAC that the series carry.
    g.queryVariable(
      'ap',
      'AP',
      'query_result(max by (ap_mac, ap_name) (%s))' % std.strReplace(self.withApName(
        'group by (site_id, ap_mac) (mist_pcap_packets_total{site_id=~"$site_id"}) or group by (site_id, ap_mac) (mist_pcap_capture_ap_failed{site_id=~"$site_id"})'
      ), '\n', ' '),
      regex='/ap_mac="(?<value>[^"]+)".*ap_name="(?<text>[^"]*)"/',
    ),
    g.customVariable('topn', 'Top N', c.topNChoices, c.topNDefault),
  ],

  // Drill-down links from a row or series carrying site_id/site (and ap_mac).
  siteLinks(c, fromTable=true):: [
    g.drillLink('Wireless dashboard of this site', c.dashboardUIDs.wireless, [['site', 'site'], ['site_id', 'site_id']], fromTable),
    g.drillLink('Wired dashboard of this site', c.dashboardUIDs.wired, [['site', 'site'], ['site_id', 'site_id']], fromTable),
    g.drillLink('Client connectivity of this site', c.dashboardUIDs.clients, [['site', 'site'], ['site_id', 'site_id']], fromTable),
  ],
  apLinks(c, fromTable=true):: [
    g.drillLink('Wireless dashboard of this AP', c.dashboardUIDs.wireless, [['site', 'site'], ['site_id', 'site_id'], ['ap', 'ap_mac']], fromTable),
    g.drillLink('Wired dashboard of this AP', c.dashboardUIDs.wired, [['site', 'site'], ['site_id', 'site_id'], ['ap', 'ap_mac']], fromTable),
    g.drillLink('Client connectivity of this AP', c.dashboardUIDs.clients, [['site', 'site'], ['site_id', 'site_id'], ['ap', 'ap_mac']], fromTable),
  ],
}
