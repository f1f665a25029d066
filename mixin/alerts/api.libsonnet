// REST polling and the Mist API token.
local r = import '../lib/rules.libsonnet';

function(c) [
  // A revoked token fails every site at once; MistPcapAPITokenRefused says so once and the
  // per-site alerts stay quiet meanwhile instead of paging once per site.
  r.alert(
    c, 'MistPcapSiteDown', 'warning',
    |||
      mist_pcap_up{%(selector)s} == 0
      unless on (job, instance)
    ||| + r.tokenRefused(c),
    c.siteDownFor,
    'Mist API polling fails for site {{ $labels.site }}',
    'The last capture-status poll of site {{ $labels.site }} ({{ $labels.site_id }}) failed '
    + 'for 10 minutes. Capture state for this site is stale.',
  ),

  r.alert(
    c, 'MistPcapAPITokenRefused', 'critical',
    r.tokenRefused(c),
    c.tokenRefusedFor,
    'Mist refuses the API token of {{ $labels.instance }}',
    'Mist answered {{ $value | printf "%.0f" }} requests of {{ $labels.instance }} with HTTP '
    + '401/403 in the last 5 minutes and none with success: the token is revoked, expired or '
    + 'lacks privileges. Every site of this exporter is blind; the per-site and stream alerts '
    + 'are suppressed while this one fires.',
  ),

  r.alert(
    c, 'MistPcapAPIRateLimited', 'warning',
    'increase(mist_pcap_api_rate_limited_total{%(selector)s}[%(rateLimitedWindow)s]) > 0',
    c.rateLimitedFor,
    'Mist API rate-limits mist-pcap-exporter',
    "{{ $labels.instance }} received {{ $value | printf \"%.0f\" }} HTTP 429 answers from the Mist "
    + "API in the last 15 minutes. Polls are delayed; the token's budget of 5,000 calls per hour "
    + 'is shared with every other user of the token.',
  ),

  r.alert(
    c, 'MistPcapAPITokenNearLimit', 'warning',
    |||
      mist_pcap_api_usage_requests{%(selector)s}
      / on (job, instance)
      (mist_pcap_api_usage_request_limit{%(selector)s} > 0)
      >= %(tokenNearLimitRatio)g
    |||,
    c.tokenNearLimitFor,
    'Mist API token of {{ $labels.instance }} is at {{ $value | humanizePercentage }} of its hourly limit',
    'The Mist API token used by {{ $labels.instance }} has spent {{ $value | humanizePercentage }} '
    + 'of its hourly request limit in the current clock hour for 10 minutes (Mist\'s '
    + '/api/v1/self/usage counts every client of the token, not only this exporter). Other '
    + 'clients of the token may be using it. The exporter stretches its own polling to fit what '
    + 'is left (mist_pcap_poll_interval_seconds), so capture state updates later; at the limit '
    + 'Mist answers 429 to every client of the token.',
  ),

  // Stretching is the budget working as designed; it alerts only when it lasts, because
  // capture state then updates later than the configured intervals promise.
  r.alert(
    c, 'MistPcapPollStretched', 'warning',
    'mist_pcap_poll_stretch_factor{%(selector)s} > 1',
    c.pollStretchFor,
    '{{ $labels.instance }} polls {{ $labels.kind }} {{ $value | printf "%.1f" }}x slower than configured',
    'For 30 minutes {{ $labels.instance }} has stretched its {{ $labels.kind }} polling to '
    + '{{ $value | printf "%.1f" }} times the configured interval to stay within the API budget '
    + '(mist.max_requests_per_hour, or what other clients of the token leave). Capture state '
    + 'updates that much later.',
  ),
]
