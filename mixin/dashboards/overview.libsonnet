// Fleet overview: counts, worst-N lists with drill-down links, API budget, exporter health.
// Built for 2,000 sites: no panel draws one series per site.
local r = import '../lib/rules.libsonnet';
local g = import '../lib/grafana.libsonnet';
local common = import 'common.libsonnet';

function(c)
  local S = common.sites;
  local ri = c.rateInterval;
  local siteLinks = common.siteLinks(c);
  local apLinks = common.apLinks(c);
  local red = [{ color: 'green', value: null }, { color: 'red', value: 1 }];
  local t = g.target;
  local tt(e) = g.target(e, instant=true, table=true);

  g.dashboard(
    c,
    c.dashboardUIDs.overview,
    'Mist pcap / Overview',
    'Juniper Mist packet capture exporter for fleets: counts, the worst sites and APs (top N, with links to the wireless and wired dashboards), captures, stream, Mist API budget, exporter health.',
    common.variables(c),
    [
      g.row('Fleet'),
      g.stat('Sites', 'Sites polled by the exporters (mist_pcap_up series).',
             [t('count(mist_pcap_up{%s}) or vector(0)' % S)]),
      g.stat('Sites polled OK', 'Sites whose last capture-status poll succeeded.',
             [t('sum(mist_pcap_up{%s}) or vector(0)' % S)], color='green'),
      g.stat('Sites failing', 'Sites whose last capture-status poll failed (see "Sites failing and why").',
             [t('count(mist_pcap_up{%s} == 0) or vector(0)' % S)], steps=red),
      g.stat('Captures running', 'Sites with a running packet capture.',
             [t('sum(mist_pcap_capture_running{%s}) or vector(0)' % S)]),
      g.stat('Sites with failed APs', 'Sites whose running capture has APs in state failed.',
             [t('count(sum by (site_id) (mist_pcap_capture_aps{%s, state="failed"}) > 0) or vector(0)' % S)], steps=red),
      g.stat('APs failed', 'APs that failed to join the running captures, all sites.',
             [t('sum(mist_pcap_capture_aps{%s, state="failed"}) or vector(0)' % S)], steps=red),
      g.stat('Streams connected', 'Exporters with a connected Mist WebSocket / exporters (shards).',
             [t('sum(mist_pcap_stream_connected) or vector(0)', 'connected'), t('count(mist_pcap_stream_connected) or vector(0)', 'exporters')]),
      g.stat('Packets/s', 'Packets per second over all selected sites (%s rate).' % ri,
             [t('sum(mist_pcap:site_packets:rate%s{%s}) or vector(0)' % [ri, S])], unit='pps'),

      g.row('Sites and APs needing attention (top $topn)'),
      g.table(
        'Sites failing and why',
        "Sites whose last poll of capture_status or capture_list failed, with the endpoint and the HTTP status (\"error\" = no answer) from mist_pcap_poll_failure_info; sites down without that detail (older exporters) show code \"unknown\". Click a site for its dashboards.",
        [tt(|||
          topk($topn,
            max by (site_id, site, endpoint, code) (mist_pcap_poll_failure_info{%(S)s})
            or on (site_id)
            label_replace(label_replace(max by (site_id, site) (mist_pcap_up{%(S)s} == 0), "endpoint", "capture_status", "", ""), "code", "unknown", "", "")
          )
        ||| % { S: S })],
        columns={ endpoint: 'Endpoint', code: 'Code' }, hidden=['Value'], links={ site: siteLinks },
      ),
      g.timeseries(
        'Failing sites by endpoint and code',
        'Number of sites whose last poll failed, per endpoint and HTTP status (mist_pcap_poll_failure_info).',
        [t(common.topN('count by (endpoint, code) (mist_pcap_poll_failure_info{%s})' % S, 'endpoint, code',
                       'count by (endpoint, code) (mist_pcap_poll_failure_info{%s} @ end())' % S), '{{endpoint}} {{code}}')],
        w=12, h=8,
      ),
      g.table(
        'Sites with failed APs',
        'The sites with the most APs in state failed in their running capture (mist_pcap_capture_aps).',
        [tt('topk($topn, sum by (site_id, site) (mist_pcap_capture_aps{%s, state="failed"}) > 0)' % S)],
        columns={ 'Value': 'Failed APs' }, links={ site: siteLinks }, sortBy='Failed APs',
      ),
      g.table(
        'Failed APs',
        'APs that failed to join the running capture (mist_pcap_capture_ap_failed), by name from the Mist inventory (the MAC when the inventory has no name). Click an AP for its wireless or wired dashboard.',
        [tt('topk($topn, %s)' % common.withApName('max by (site_id, site, ap_mac) (mist_pcap_capture_ap_failed{%s, ap_mac=~"$ap"})' % S))],
        columns={ ap_name: 'AP', ap_mac: 'MAC' }, hidden=['Value'], links={ site: siteLinks, ap_name: apLinks },
      ),
      g.table(
        'Top sites by lost stream messages',
        'Stream messages Mist reported lost per site over the selected time range (mist_pcap_stream_lost_messages_total).',
        [tt('topk($topn, sum by (site_id, site) (increase(mist_pcap_stream_lost_messages_total{%s}[$__range])) > 0)' % S)],
        columns={ 'Value': 'Lost messages' }, links={ site: siteLinks }, sortBy='Lost messages',
      ),
      g.table(
        'Stream subscriptions failed',
        'Sites whose stream channel is not subscribed although the exporter is connected (mist_pcap_stream_subscribed == 0).',
        [tt('topk($topn, max by (job, instance, site_id, site) (mist_pcap_stream_subscribed{%s} == 0) and on (job, instance) (mist_pcap_stream_connected == 1))' % S)],
        hidden=['Value', 'job', 'instance'], links={ site: siteLinks },
      ),

      g.row('Captures'),
      g.timeseries('APs in capture by state', 'Requested, ok and failed APs summed over the selected sites.',
                   [t('sum by (state) (mist_pcap_capture_aps{%s})' % S, '{{state}}')]),
      g.timeseries('Captures in list window by type', 'Captures started within poll.list_window, by type.',
                   [t('sum by (capture_type) (mist_pcap_captures{%s})' % S, '{{capture_type}}')]),
      g.timeseries(
        'Capture time remaining (first $topn to expire)',
        'Seconds until the running captures expire; the $topn that expire first at the end of the range.',
        [t(common.topN('max by (site_id, site, capture_id) (mist_pcap_capture_expiry_timestamp_seconds{%s}) - time()' % S,
                       'site_id, capture_id',
                       'max by (site_id, capture_id) (mist_pcap_capture_expiry_timestamp_seconds{%s} @ end())' % S,
                       'bottomk'), '{{site}} {{capture_id}}')],
        unit='s', links=common.siteLinks(c, false),
      ),
      local expiring = 'bottomk($topn, max by (site_id, capture_id) (mist_pcap_capture_expiry_timestamp_seconds{%s}))' % S;
      g.table(
        'Running captures (first $topn to expire)',
        'Running captures with type, format, start, expiry and packet limit (mist_pcap_capture_info and friends).',
        [
          tt('max by (site, site_id, capture_id, capture_type, format) (mist_pcap_capture_info{%s}) and on (site_id, capture_id) %s' % [S, expiring]),
          tt('max by (site, site_id, capture_id) (mist_pcap_capture_start_timestamp_seconds{%s}) * 1000 and on (site_id, capture_id) %s' % [S, expiring]),
          tt('max by (site, site_id, capture_id) (mist_pcap_capture_expiry_timestamp_seconds{%s}) * 1000 and on (site_id, capture_id) %s' % [S, expiring]),
          tt('max by (site, site_id, capture_id) (mist_pcap_capture_max_packets{%s}) and on (site_id, capture_id) %s' % [S, expiring]),
        ],
        columns={ capture_type: 'Type', format: 'Format', 'Value #B': 'Started', 'Value #C': 'Expires', 'Value #D': 'Packet limit' },
        hidden=['Value #A'], links={ site: siteLinks }, units={ Started: 'dateTimeAsIso', Expires: 'dateTimeAsIso' },
        w=16,
      ),
      g.table(
        'Longest without a capture',
        'Sites whose newest capture (running or in the list window) started longest ago (mist_pcap_last_capture_timestamp_seconds).',
        [tt('topk($topn, time() - max by (site_id, site) (mist_pcap_last_capture_timestamp_seconds{%s}))' % S)],
        columns={ 'Value': 'Since last capture' }, links={ site: siteLinks }, units={ 'Since last capture': 's' }, w=8, sortBy='Since last capture',
      ),
      local progress = 'topk($topn, max by (site, site_id, capture_id) (mist_pcap_capture_packets{%s}))' % S;
      g.table(
        'Capture progress (top $topn)',
        "Packets each running capture has captured so far (Mist's num_packets) against its limit (max_num_packets); the captures with the most packets. Captures of type client and new_assoc report no progress; a limit of 0 means unknown.",
        [
          tt(progress),
          tt('max by (site, site_id, capture_id) (mist_pcap_capture_max_packets{%s}) and on (site_id, capture_id) %s' % [S, progress]),
          tt('max by (site, site_id, capture_id) (mist_pcap_capture_packets{%s}) / on (site, site_id, capture_id) (max by (site, site_id, capture_id) (mist_pcap_capture_max_packets{%s}) > 0) and on (site_id, capture_id) %s' % [S, S, progress]),
        ],
        columns={ 'Value #A': 'Packets', 'Value #B': 'Limit', 'Value #C': 'Progress' },
        links={ site: siteLinks }, units={ Progress: 'percentunit' }, sortBy='Packets',
      ),
      g.table(
        'Capturing APs',
        'APs capturing radio in the running captures with band and channel (mist_pcap_capture_ap_info), by name.',
        [tt('topk($topn, %s)' % common.withApName('max by (site_id, site, ap_mac, band, channel) (mist_pcap_capture_ap_info{%s, ap_mac=~"$ap"})' % S))],
        columns={ ap_name: 'AP', ap_mac: 'MAC', band: 'Band', channel: 'Channel' }, hidden=['Value'],
        links={ site: siteLinks, ap_name: apLinks },
      ),

      g.row('Traffic (top $topn)'),
      g.timeseries(
        'Packets/s, top $topn sites',
        'The sites with the most packets over the selected range (%s rate).' % ri,
        [t(common.topN('mist_pcap:site_packets:rate%s{%s}' % [ri, S], 'site_id',
                       'sum by (site_id) (increase(mist_pcap_packets_total{%s}[$__range] @ end()))' % S), '{{site}}')],
        unit='pps', links=common.siteLinks(c, false),
      ),
      g.timeseries(
        'Bytes/s, top $topn sites',
        'The sites with the most bytes over the selected range.',
        [t(common.topN('sum by (site_id, site) (mist_pcap:bytes:rate%s{%s})' % [ri, S], 'site_id',
                       'sum by (site_id) (increase(mist_pcap_bytes_total{%s}[$__range] @ end()))' % S), '{{site}}')],
        unit='Bps', links=common.siteLinks(c, false),
      ),
      g.timeseries(
        'Packets/s, top $topn APs',
        'The APs with the most packets over the selected range, by name.',
        [t(common.topN(common.withApName('mist_pcap:packets:rate%s{%s, ap_mac=~"$ap"}' % [ri, S]), 'site_id, ap_mac',
                       'sum by (site_id, ap_mac) (increase(mist_pcap_packets_total{%s, ap_mac=~"$ap"}[$__range] @ end()))' % S), '{{site}} {{ap_name}}')],
        unit='pps', links=common.apLinks(c, false),
      ),

      g.row('Stream'),
      g.timeseries('Stream connection and subscriptions', 'Connected exporters and subscribed sites.',
                   [t('sum(mist_pcap_stream_connected)', 'connected'), t('sum(mist_pcap_stream_subscribed{%s})' % S, 'subscribed sites')]),
      g.timeseries('Stream reconnects', 'WebSocket reconnects.',
                   [t('sum(increase(mist_pcap_stream_reconnects_total[$__rate_interval])) or vector(0)', 'reconnects')]),
      g.timeseries('Stream messages/s by event', 'Stream frames per second by event.',
                   [t('sum by (event) (rate(mist_pcap_stream_messages_total{%s}[$__rate_interval]))' % S, '{{event}}')]),
      g.timeseries(
        'Lost messages/s, top $topn sites',
        // No "or vector(0)" here: at the steps before the first loss it would be one more line.
        'Stream messages Mist reported lost; the sites with the most over the selected range (no data: none lost).',
        [t(common.topN('sum by (site_id, site) (rate(mist_pcap_stream_lost_messages_total{%s}[$__rate_interval]))' % S, 'site_id',
                       'sum by (site_id) (increase(mist_pcap_stream_lost_messages_total{%s}[$__range] @ end())) > 0' % S),
           '{{site}}')],
        links=common.siteLinks(c, false),
      ),
      g.timeseries(
        'Decode errors/s by reason',
        'Stream frames or values that could not be decoded (no site label: the frame may not say which site it is from).',
        [t('topk($topn, sum by (reason) (rate(mist_pcap_stream_decode_errors_total[$__rate_interval]))) or on () vector(0)', '{{reason}}')],
      ),
      g.timeseries(
        'Time since last stream message, $topn stalest sites',
        'Age of the newest stream message per site; the sites that went quiet longest ago.',
        [t(common.topN('time() - max by (site_id, site) (mist_pcap_stream_last_message_timestamp_seconds{%s})' % S, 'site_id',
                       'max by (site_id) (mist_pcap_stream_last_message_timestamp_seconds{%s} @ end())' % S, 'bottomk'), '{{site}}')],
        unit='s', links=common.siteLinks(c, false),
      ),
      g.timeseries('Series folded into "other"', 'Label sets folded into "other" by metrics.max_series_per_family, per family.',
                   [t('topk($topn, sum by (family) (rate(mist_pcap_series_dropped_total[$__rate_interval]))) or on () vector(0)', '{{family}}')], w=24, h=6),

      g.row('Mist API and polling'),
      g.timeseries(
        'API requests/s by endpoint and code',
        'Mist REST calls per second; the $topn endpoint/code pairs with the most calls over the range.',
        [t(common.topN('sum by (endpoint, code) (rate(mist_pcap_api_requests_total[$__rate_interval]))', 'endpoint, code',
                       'sum by (endpoint, code) (increase(mist_pcap_api_requests_total[$__range] @ end()))'), '{{endpoint}} {{code}}')],
        unit='reqps',
      ),
      g.timeseries(
        'API errors/s',
        'Failed Mist answers per endpoint and code: non-2xx and "error" (no answer). 404 on capture_status is left out: it is how Mist says no capture runs.',
        [t('topk($topn, sum by (endpoint, code) (\n%s)) or on () vector(0)' % r.apiErrors(c, '$__rate_interval', ''), '{{endpoint}} {{code}}')],
        unit='reqps',
      ),
      g.timeseries('API latency p95 by endpoint', 'p95 of the Mist REST call duration.',
                   [t('histogram_quantile(0.95, sum by (endpoint, le) (rate(mist_pcap_api_request_duration_seconds_bucket[$__rate_interval])))', '{{endpoint}}')], unit='s'),
      g.timeseries('Rate limited (HTTP 429)', 'HTTP 429 answers from Mist.',
                   [t('sum(increase(mist_pcap_api_rate_limited_total[$__rate_interval])) or vector(0)', '429 answers')], w=6),
      g.stat('API calls in the last hour', 'Mist REST calls of all exporters in the last 60 minutes.',
             [t('sum(increase(mist_pcap_api_requests_total[1h])) or vector(0)')], w=6, h=7),
      g.stat('API token used this hour (all clients)', "Share of the token's hourly limit spent in this clock hour by every client of the token (/api/v1/self/usage).",
             [t('topk($topn, max by (instance) (mist_pcap_api_usage_requests / on (job, instance) (mist_pcap_api_usage_request_limit > 0)))', '{{instance}}')],
             unit='percentunit', w=6, h=7, steps=[{ color: 'green', value: null }, { color: 'orange', value: 0.75 }, { color: 'red', value: 0.9 }]),
      g.timeseries('API token requests this hour vs limit', 'Requests of all clients of the token this hour, the limit, and the exporters own calls over the last 60 minutes.',
                   [
                     t('topk(10, max by (instance) (mist_pcap_api_usage_requests))', '{{instance}} all clients (this hour)'),
                     t('max(mist_pcap_api_usage_request_limit)', 'limit'),
                     t('topk(9, sum by (instance) (increase(mist_pcap_api_requests_total[1h])))', '{{instance}} exporter (last 60 min)'),
                   ], w=6, h=7),
      g.timeseries('Poll interval in use', 'Effective poll intervals (status, list, idle): the configured ones, stretched to fit the API budget.',
                   [t('topk($topn, max by (instance, kind) (mist_pcap_poll_interval_seconds))', '{{instance}} {{kind}}')], unit='s', w=12),
      g.timeseries('Poll stretch factor', 'Effective / configured poll interval per kind; 1 = as configured (mist_pcap_poll_stretch_factor).',
                   [t('topk($topn, max by (instance, kind) (mist_pcap_poll_stretch_factor))', '{{instance}} {{kind}}')], w=12),

      g.row('Exporter'),
      g.timeseries('Site polls OK and failing', 'Sites whose last status poll succeeded and failed (replaces a per-site timeline, which does not scale).',
                   [t('sum(mist_pcap_up{%s})' % S, 'OK'), t('count(mist_pcap_up{%s} == 0) or vector(0)' % S, 'failing')]),
      g.timeseries('Sites per exporter state', 'Sites selected by config and discovery: owned by a shard, or skipped (owned by another shard), summed over the exporters.',
                   [t('sum by (state) (mist_pcap_exporter_sites)', '{{state}}')]),
      g.stat('Config reloads failed', 'Exporters whose last config reload failed (the previous config keeps running).',
             [t('count(mist_pcap_exporter_config_last_reload_successful == 0) or vector(0)')], steps=red, w=4, h=7),
      g.stat('Restart required', 'Exporters running older values of keys that only a restart applies.',
             [t('count(mist_pcap_exporter_config_restart_required == 1) or vector(0)')], steps=red, w=4, h=7),
      g.table('Build and shard', 'Version, revision and shard of each exporter.',
              [tt('topk($topn, max by (instance, version, revision, index, count) (mist_pcap_exporter_build_info * on (job, instance) group_left (index, count) mist_pcap_exporter_shard))')],
              columns={ instance: 'Instance', version: 'Version', revision: 'Revision', index: 'Shard', count: 'Shards' }, hidden=['Value'], w=12, h=7),
      g.stat('Discovery refresh errors (1h)', 'Failed site discovery refreshes in the last hour (the previous site set is kept).',
             [t('sum(increase(mist_pcap_discovery_refresh_errors_total[1h])) or vector(0)')], steps=red, w=6, h=7),
      g.stat('Uptime', 'Time since each exporter process started.',
             [t('topk($topn, time() - (process_start_time_seconds and on (job, instance) mist_pcap_exporter_build_info))', '{{instance}}')], unit='s', w=6, h=7),
      g.timeseries('CPU', 'CPU seconds per second of each exporter.',
                   [t('topk($topn, rate(process_cpu_seconds_total[$__rate_interval]) and on (job, instance) mist_pcap_exporter_build_info)', '{{instance}}')], w=6),
      g.timeseries('Resident memory', 'Resident memory of each exporter.',
                   [t('topk($topn, process_resident_memory_bytes and on (job, instance) mist_pcap_exporter_build_info)', '{{instance}}')], unit='bytes', w=6),
      g.timeseries('Open file descriptors', 'Open file descriptors of each exporter.',
                   [t('topk($topn, process_open_fds and on (job, instance) mist_pcap_exporter_build_info)', '{{instance}}')], w=12),
    ],
  )
