// Client connectivity: what the captured frames say about clients joining and staying on
// the network (issue 18 families): join responses by status code, disconnects by reason
// code, the WPA 4-way handshake, DHCP and DNS outcomes on the wired side, the top clients,
// 802.11 retries and truncated packets. Per-AP panels show the worst $topn only.
local g = import '../lib/grafana.libsonnet';
local codes = import 'codes.libsonnet';
local common = import 'common.libsonnet';

function(c)
  local S = common.sites;
  local SA = common.siteAndAP;
  local t = g.target;
  local tt(e) = g.target(e, instant=true, table=true);
  local pct = 'percentunit';
  local apLinks = common.apLinks(c);
  local apGraphLinks = common.apLinks(c, false);

  local join = 'mist_pcap_wireless_join_responses_total';
  local disc = 'mist_pcap_wireless_disconnects_total';
  local hs = 'mist_pcap_eapol_handshakes_total';
  local dhcp = 'mist_pcap_wired_dhcp_messages_total';
  local dns = 'mist_pcap_wired_dns_responses_total';
  // Join responses that are outcomes (SAE steps 76 and 126 left out) and failures among them.
  local steps = std.join('|', codes.saeSteps);
  local outcome = '%s, status_code!~"%s"' % [SA, steps];
  local failed = '%s, status_code!~"0|%s"' % [SA, steps];
  local statusMap = g.valueMappings(codes.labelled(codes.statusCodes));
  local reasonMap = g.valueMappings(codes.labelled(codes.reasonCodes));
  // DNS answers that say the resolver failed (NXDOMAIN is an answer: the name does not exist).
  local dnsFailed = '%s, rcode!~"noerror|nxdomain"' % SA;

  // sum by (by) (fn(metric{sel}[range])) - the building block of every ratio below.
  local s(by, metric, sel, range='$__rate_interval', fn='rate', at='') =
    'sum by (%s) (%s(%s{%s}[%s]%s))' % [by, fn, metric, sel, range, at];
  local perAP = 'site_id, site, ap_mac';
  local rankAP = 'site_id, ap_mac';
  local R = '$__range';
  local E = ' @ end()';

  // Outcome label for a join response: success, SAE step or failure (label_replace anchors).
  local withOutcome(e) =
    'label_replace(label_replace(label_replace(%s, "outcome", "failure", "status_code", ".*"), "outcome", "SAE step", "status_code", "%s"), "outcome", "success", "status_code", "0")' % [e, steps];

  g.dashboard(
    c,
    c.dashboardUIDs.clients,
    'Mist pcap / Client connectivity',
    'What the captures say about clients: join responses by IEEE 802.11 status code (SAE steps 76 and 126 shown apart, not failures), disconnects by reason code, WPA 4-way handshakes, DHCP and DNS outcomes, top clients by bytes, 802.11 retries and truncated packets. Worst $topn APs, by name. Opened from the overview, wireless and wired dashboards with the site (and AP) filled in.',
    common.variables(c),
    [
      g.row('Summary'),
      g.stat('Join failure ratio', 'Failed authentication and (re)association responses / all responses (status code not 0; SAE steps 76 and 126 left out of both).',
             [t('%s / %s' % [s('', join, failed), s('', join, outcome)])], unit=pct, w=4,
             steps=[{ color: 'green', value: null }, { color: 'orange', value: 0.05 }, { color: 'red', value: 0.2 }]),
      g.stat('Deauthentications/s', 'Deauthentication frames per second, sent or received, seen by the selected APs.',
             [t('sum(rate(%s{%s, frame_subtype="deauthentication"}[$__rate_interval])) or vector(0)' % [disc, SA])], unit='pps', w=4),
      g.stat('Handshake completion', 'Complete / (complete + incomplete) WPA 4-way handshakes.',
             [t('%s / %s' % [s('', hs, SA + ', result="complete"'), s('', hs, SA + ', result=~"complete|incomplete"')])], unit=pct, w=4,
             steps=[{ color: 'red', value: null }, { color: 'orange', value: 0.8 }, { color: 'green', value: 0.95 }]),
      g.stat('DHCP NAK ratio', 'DHCP NAKs / (ACKs + NAKs) on the wired side.',
             [t('%s / %s' % [s('', dhcp, SA + ', message_type="nak"'), s('', dhcp, SA + ', message_type=~"ack|nak"')])], unit=pct, w=4,
             steps=[{ color: 'green', value: null }, { color: 'red', value: c.dhcpNakRatio }]),
      g.stat('DNS failure ratio', 'DNS responses with SERVFAIL, REFUSED, FORMERR, NOTIMP or another error code / all responses (NXDOMAIN counts as an answer).',
             [t('(%s or vector(0)) / %s' % [s('', dns, dnsFailed), s('', dns, SA)])], unit=pct, w=4,
             steps=[{ color: 'green', value: null }, { color: 'orange', value: 0.05 }, { color: 'red', value: 0.2 }]),
      g.stat('Retry ratio', '802.11 frames with the Retry bit / all 802.11 frames (mist_pcap_wireless_frames_total).',
             [t('%s / %s' % [s('', 'mist_pcap_wireless_retries_total', SA), s('', 'mist_pcap_wireless_frames_total', SA)])], unit=pct, w=4,
             steps=[{ color: 'green', value: null }, { color: 'orange', value: 0.1 }, { color: 'red', value: 0.25 }]),

      g.row('Joins: authentication and (re)association responses'),
      g.timeseries(
        'Join responses/s by status code, top $topn',
        'Authentication, association and reassociation responses sent by the APs, by IEEE 802.11 status code (0 = success); the codes most seen over the range. 76 and 126 are SAE (WPA3) steps, not failures.',
        [t(common.topN(s('status_code', join, SA), 'status_code', s('status_code', join, SA, R, 'increase', E)), '{{status_code}}')],
        unit='pps', w=12, h=8, overrides=g.renameSeries(codes.labelled(codes.statusCodes)),
      ),
      g.table(
        'Join responses by subtype and status code (selected time range), top $topn',
        'Responses per frame subtype and status code with its meaning and outcome: success (0), SAE step (76 anti-clogging token required, 126 hash-to-element: part of a WPA3 exchange) or failure.',
        [tt('topk($topn, %s)' % withOutcome(s('frame_subtype, status_code', join, SA, R, 'increase')))],
        columns={ frame_subtype: 'Subtype', status_code: 'Status code', outcome: 'Outcome', Value: 'Responses' },
        mappings={ 'Status code': statusMap }, w=12, h=8, sortBy='Responses',
      ),
      g.timeseries(
        'Join failure ratio, $topn APs with the most failures',
        'Failed responses / responses per AP (SAE steps left out of both), for the APs with the most failed responses over the range, by name.',
        [t(common.topN(common.withApName('%s / %s' % [s(perAP, join, failed), s(perAP, join, outcome)]), rankAP,
                       s(rankAP, join, failed, R, 'increase', E)), '{{ap_name}}')],
        unit=pct, w=12, h=8, links=apGraphLinks, min=0, max=1,
      ),
      g.timeseries(
        'SAE steps/s (76, 126)',
        'Authentication responses with status 76 (anti-clogging token required: the AP is under SAE load and asks the client to repeat its commit with a token) and 126 (SAE hash-to-element in use). Steps of a WPA3 exchange, shown apart from failures.',
        [t('sum by (status_code) (rate(%s{%s, status_code=~"%s"}[$__rate_interval]))' % [join, SA, steps], '{{status_code}}')],
        unit='pps', w=12, h=8, overrides=g.renameSeries(codes.labelled({ [k]: codes.statusCodes[k] for k in codes.saeSteps })),
      ),
      g.table(
        'APs with the most join failures (selected time range)',
        'Failed responses and failure ratio per AP over the range (SAE steps left out), by name. Click an AP for its dashboards.',
        [
          tt('topk($topn, %s)' % common.withApName(s(perAP, join, failed, R, 'increase'))),
          tt('(%s) and on (site_id, ap_mac) topk($topn, %s)' % [common.withApName('%s / %s' % [s(perAP, join, failed, R, 'increase'), s(perAP, join, outcome, R, 'increase')]), s(perAP, join, failed, R, 'increase')]),
        ],
        columns={ ap_name: 'AP', ap_mac: 'MAC', 'Value #A': 'Failures', 'Value #B': 'Failure ratio' },
        links={ ap_name: apLinks }, units={ 'Failure ratio': pct }, w=24, h=8, sortBy='Failures',
      ),

      g.row('Disconnects: deauthentication and disassociation'),
      g.timeseries(
        'Disconnects/s by reason code, top $topn',
        'Deauthentication and disassociation frames (either direction) by IEEE 802.11 reason code; the codes most seen over the range.',
        [t(common.topN(s('reason_code', disc, SA), 'reason_code', s('reason_code', disc, SA, R, 'increase', E)), '{{reason_code}}')],
        unit='pps', w=12, h=8, overrides=g.renameSeries(codes.labelled(codes.reasonCodes)),
      ),
      g.table(
        'Disconnects by subtype and reason code (selected time range), top $topn',
        'Deauthentications and disassociations per reason code with its meaning over the range.',
        [tt('topk($topn, %s)' % s('frame_subtype, reason_code', disc, SA, R, 'increase'))],
        columns={ frame_subtype: 'Subtype', reason_code: 'Reason code', Value: 'Frames' },
        mappings={ 'Reason code': reasonMap }, w=12, h=8, sortBy='Frames',
      ),
      g.timeseries(
        'Deauthentications/s, top $topn APs',
        'Deauthentication frames per second (sent or received) of the APs with the most over the range, by name. MistPcapDeauthFlood fires above %g/s for %s.' % [c.deauthFloodRate, c.deauthFloodFor],
        [t(common.topN(common.withApName(s(perAP, disc, SA + ', frame_subtype="deauthentication"')), rankAP,
                       s(rankAP, disc, SA + ', frame_subtype="deauthentication"', R, 'increase', E)), '{{ap_name}}')],
        unit='pps', w=24, h=8, links=apGraphLinks,
      ),

      g.row('WPA 4-way handshake (EAPOL)'),
      g.timeseries('EAPOL-Key messages/s by number', 'Pairwise EAPOL-Key frames per message number (1-4) of the 4-way handshake. Many 1s without 2s: clients do not answer (wrong passphrase, PMF or cipher mismatch); 1-2 without 3: the AP rejected message 2 (wrong PSK).',
                   [t('sum by (message) (rate(mist_pcap_eapol_messages_total{%s}[$__rate_interval]))' % SA, 'message {{message}}')], unit='pps', w=8, h=8),
      g.timeseries('Handshakes/s by result', 'Complete and incomplete 4-way handshakes per second.',
                   [t('sum by (result) (rate(%s{%s}[$__rate_interval]))' % [hs, SA], '{{result}}')], w=8, h=8),
      g.timeseries('Handshake duration (message 1 to 4)', 'Quantiles of the duration of complete handshakes (histogram mist_pcap_eapol_handshake_duration_seconds, buckets 0.01 to 5 s).',
                   [
                     t('histogram_quantile(%s, sum by (le) (rate(mist_pcap_eapol_handshake_duration_seconds_bucket{%s}[$__rate_interval])))' % [q[0], SA], q[1])
                     for q in [['0.5', 'p50'], ['0.9', 'p90'], ['0.99', 'p99']]
                   ], unit='s', w=8, h=8),
      g.timeseries(
        'Handshake completion ratio, $topn APs with the most incomplete',
        'Complete / (complete + incomplete) handshakes per AP, for the APs with the most incomplete handshakes over the range, by name.',
        [t(common.topN(common.withApName('%s / %s' % [s(perAP, hs, SA + ', result="complete"'), s(perAP, hs, SA + ', result=~"complete|incomplete"')]), rankAP,
                       s(rankAP, hs, SA + ', result="incomplete"', R, 'increase', E)), '{{ap_name}}')],
        unit=pct, w=12, h=8, links=apGraphLinks, min=0, max=1,
      ),
      g.timeseries(
        'Handshake duration p90, $topn slowest APs',
        'p90 of the handshake duration per AP; the APs with the highest p90 over the range, by name.',
        [t(common.topN(common.withApName('histogram_quantile(0.9, sum by (site_id, site, ap_mac, le) (rate(mist_pcap_eapol_handshake_duration_seconds_bucket{%s}[$__rate_interval])))' % SA), rankAP,
                       'histogram_quantile(0.9, sum by (site_id, ap_mac, le) (increase(mist_pcap_eapol_handshake_duration_seconds_bucket{%s}[$__range] @ end())))' % SA), '{{ap_name}}')],
        unit='s', w=12, h=8, links=apGraphLinks,
      ),

      g.row('DHCP and DNS (wired)'),
      g.timeseries('DHCP messages/s by type', 'DHCPv4 messages on the wired side by message type.',
                   [t('sum by (message_type) (rate(%s{%s}[$__rate_interval]))' % [dhcp, SA], '{{message_type}}')], unit='pps', w=8, h=8),
      g.timeseries(
        'DHCP NAK and discover-without-offer ratios',
        'NAKs / (ACKs + NAKs), and (DISCOVERs - OFFERs) / DISCOVERs (0 when offers outnumber discovers). MistPcapDHCPFailing fires per AP above %g and %g.' % [c.dhcpNakRatio, c.dhcpNoOfferRatio],
        [
          t('%s / %s' % [s('', dhcp, SA + ', message_type="nak"'), s('', dhcp, SA + ', message_type=~"ack|nak"')], 'NAK / (ACK + NAK)'),
          t('clamp_min((%s - (%s or vector(0))) / %s, 0)' % [s('', dhcp, SA + ', message_type="discover"'), s('', dhcp, SA + ', message_type="offer"'), s('', dhcp, SA + ', message_type="discover"')], 'discover without offer'),
        ],
        unit=pct, w=8, h=8, min=0, max=1,
      ),
      g.timeseries('DNS responses/s by rcode', 'DNS responses (UDP source port 53) on the wired side by response code.',
                   [t('sum by (rcode) (rate(%s{%s}[$__rate_interval]))' % [dns, SA], '{{rcode}}')], unit='pps', w=8, h=8),
      local disco = s(perAP, dhcp, SA + ', message_type="discover"');
      local offer = s(perAP, dhcp, SA + ', message_type="offer"');
      g.timeseries(
        'DHCP discovers without offer, $topn worst APs',
        '(DISCOVERs - OFFERs) / DISCOVERs per AP, for the APs with the most unanswered discovers over the range, by name. An AP that sees no offer at all shows 100%.',
        [t(common.topN(
          common.withApName('clamp_min((%s - (%s or %s * 0)) / %s, 0)' % [disco, offer, disco, disco]), rankAP,
          '(%s - (%s or %s * 0)) > 0' % [s(rankAP, dhcp, SA + ', message_type="discover"', R, 'increase', E), s(rankAP, dhcp, SA + ', message_type="offer"', R, 'increase', E), s(rankAP, dhcp, SA + ', message_type="discover"', R, 'increase', E)]
        ), '{{ap_name}}')],
        unit=pct, w=12, h=8, links=apGraphLinks, min=0, max=1,
      ),
      g.timeseries(
        'DHCP NAK ratio, $topn APs with the most NAKs',
        'NAKs / (ACKs + NAKs) per AP, for the APs with the most NAKs over the range, by name.',
        [t(common.topN(common.withApName('%s / %s' % [s(perAP, dhcp, SA + ', message_type="nak"'), s(perAP, dhcp, SA + ', message_type=~"ack|nak"')]), rankAP,
                       s(rankAP, dhcp, SA + ', message_type="nak"', R, 'increase', E)), '{{ap_name}}')],
        unit=pct, w=12, h=8, links=apGraphLinks, min=0, max=1,
      ),
      g.table(
        'APs with the most DNS failures (selected time range)',
        'DNS responses with SERVFAIL, REFUSED, FORMERR, NOTIMP or another error code per AP and rcode over the range, by name.',
        [tt('topk($topn, %s)' % common.withApName(s(perAP + ', rcode', dns, dnsFailed, R, 'increase')))],
        columns={ ap_name: 'AP', ap_mac: 'MAC', rcode: 'Rcode', Value: 'Responses' },
        links={ ap_name: apLinks }, w=12, h=8, sortBy='Responses',
      ),
      g.bargauge('DNS responses by rcode (selected time range)', 'DNS responses per response code over the range.',
                 [g.target('sort_desc(%s)' % s('rcode', dns, SA, R, 'increase'), '{{rcode}}', instant=true)]),

      g.row('Top clients'),
      g.table(
        'Top clients by bytes',
        'The clients with the most 802.11 data bytes over the last metrics.top_clients_window (default 5m), per site (the exporter keeps at most metrics.top_clients per site; a value is never below the true one). Not filtered by AP: the family has no ap_mac.',
        [tt('topk($topn, max by (site_id, site, client_mac) (mist_pcap_top_clients_bytes{%s}))' % S)],
        columns={ client_mac: 'Client MAC', Value: 'Bytes' }, links={ site: common.siteLinks(c) }, units={ Bytes: 'bytes' }, w=12, h=8, sortBy='Bytes',
      ),
      g.timeseries(
        'Top clients: bytes per window, top $topn',
        'Bytes of each client over the last metrics.top_clients_window, for the clients with the most at any time of the range.',
        [t(common.topN('max by (site_id, site, client_mac) (mist_pcap_top_clients_bytes{%s})' % S, 'site_id, client_mac',
                       'max by (site_id, client_mac) (max_over_time(mist_pcap_top_clients_bytes{%s}[$__range] @ end()))' % S), '{{site}} {{client_mac}}')],
        unit='bytes', w=12, h=8, links=common.siteLinks(c, false),
      ),

      g.row('Retries and truncated packets'),
      g.timeseries(
        'Retry ratio, $topn worst APs and bands',
        '802.11 frames with the Retry bit / all frames per AP and band, for the AP/band pairs with the most retries over the range, by name. Above 10-15% points to interference, weak clients or hidden nodes.',
        [t(common.topN(common.withApName('%s / %s' % [s(perAP + ', band', 'mist_pcap_wireless_retries_total', SA), s(perAP + ', band', 'mist_pcap_wireless_frames_total', SA)]),
                       rankAP + ', band', s(rankAP + ', band', 'mist_pcap_wireless_retries_total', SA, R, 'increase', E)), '{{ap_name}} {{band}} GHz')],
        unit=pct, w=12, h=8, links=apGraphLinks, min=0, max=1,
      ),
      g.timeseries('Retry ratio by band', 'Frames with the Retry bit / all frames per band.',
                   [t('%s / %s' % [s('band', 'mist_pcap_wireless_retries_total', SA), s('band', 'mist_pcap_wireless_frames_total', SA)], '{{band}} GHz')],
                   unit=pct, w=12, h=8, min=0, max=1),
      g.timeseries(
        'Truncated packets/s by layer',
        'Packets cut short by the capture (max_pkt_len) per layer in which their bytes end; a packet cut inside a layer is not counted in that layer\'s family (e.g. an EAPOL-Key frame cut in its body is no message). Per site (the family has no ap_mac).',
        [t('sum by (layer) (rate(mist_pcap_decode_truncated_total{%s}[$__rate_interval]))' % S, '{{layer}}')],
        unit='pps', w=24, h=7,
      ),
    ],
  )
