// The WebSocket packet stream.
local r = import '../lib/rules.libsonnet';

function(c) [
  // A shard that owns no site (more shards than sites, or discovery found none for it) opens
  // no stream; that is not an outage.
  r.alert(
    c, 'MistPcapStreamDown', 'critical',
    |||
      mist_pcap_stream_connected{%(selector)s} == 0
      unless on (job, instance)
      mist_pcap_exporter_sites{%(selector)s, state="owned"} == 0
      unless on (job, instance)
    ||| + r.tokenRefused(c),
    c.streamDownFor,
    'Mist WebSocket stream is disconnected',
    '{{ $labels.instance }} has had no connected Mist WebSocket stream for 5 minutes. No packets '
    + 'are counted for any site of this exporter.',
  ),

  r.alert(
    c, 'MistPcapStreamSubscriptionFailed', 'warning',
    |||
      mist_pcap_stream_subscribed{%(selector)s} == 0
      and on (job, instance)
      mist_pcap_stream_connected{%(selector)s} == 1
    |||,
    c.subscriptionFailedFor,
    'Stream subscription of site {{ $labels.site }} failed',
    'The Mist WebSocket of {{ $labels.instance }} is connected, but the channel of site '
    + '{{ $labels.site }} ({{ $labels.site_id }}) has not been subscribed for 10 minutes. '
    + 'Packets of captures at this site are not counted.',
  ),

  r.alert(
    c, 'MistPcapStreamLostMessages', 'warning',
    'sum by (job, instance, site_id, site) (increase(mist_pcap_stream_lost_messages_total{%(selector)s}[%(lostMessagesWindow)s])) > 0',
    c.lostMessagesFor,
    'Mist drops stream messages for site {{ $labels.site }}',
    'Mist reported {{ $value | printf "%.0f" }} lost stream messages for site {{ $labels.site }} '
    + '({{ $labels.site_id }}) in the last 10 minutes. Packet counts for this site are lower '
    + 'than what the APs captured.',
  ),

  r.alert(
    c, 'MistPcapDecodeErrors', 'warning',
    |||
      sum by (job, instance) (rate(mist_pcap_stream_decode_errors_total{%(selector)s}[%(decodeErrorsWindow)s]))
      /
      sum by (job, instance) (rate(mist_pcap_stream_messages_total{%(selector)s}[%(decodeErrorsWindow)s]))
      > %(decodeErrorRatio)g
    |||,
    c.decodeErrorsFor,
    'More than 1% of stream messages fail to decode',
    '{{ $value | humanizePercentage }} of the stream messages received by {{ $labels.instance }} '
    + 'over 10 minutes could not be decoded. Check mist_pcap_stream_decode_errors_total by reason.',
  ),
]
