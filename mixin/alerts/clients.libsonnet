// Client connectivity, from what the captured frames say (issue 18 families). Each alert
// judges one capturing AP (site_id, ap_mac) and carries its inventory name as ap_name (the
// MAC when the inventory has none), as the dashboards show it. Thresholds: config.libsonnet.
local r = import '../lib/rules.libsonnet';

function(c)
  local by = 'job, instance, site_id, site, ap_mac';
  local on = 'job, instance, site_id, ap_mac';
  // sum by (AP) (fn(metric{selector, sel}[window])), on three lines.
  local agg(fn, metric, sel, window) =
    'sum by (%s) (\n  %s(%s{%s, %s}[%s])\n)' % [by, fn, metric, c.selector, sel, window];
  local I = r.indent;
  // Counts over the windows, from the recording rules (rules/rules.libsonnet).
  local rec(record, sel) = 'sum by (%s) (%s{%s})' % [by, record, sel];
  local dhcp(type) = rec('mist_pcap:wired_dhcp_messages:increase%s' % c.dhcpFailingWindow, 'message_type=%s' % type);
  local hs(result) = rec('mist_pcap:eapol_handshakes:increase%s' % c.handshakeFailuresWindow, 'result=%s' % result);
  local pct(ratio) = std.toString(ratio * 100) + '%';
  local apDesc = 'AP {{ $labels.ap_name }} ({{ $labels.ap_mac }}) at site {{ $labels.site }} ({{ $labels.site_id }})';
  [
    r.alert(
      c, 'MistPcapDeauthFlood', 'warning',
      r.withApName(c, |||
        %(deauths)s
        > %(rate)g
      ||| % {
        deauths: agg('rate', 'mist_pcap_wireless_disconnects_total', 'frame_subtype="deauthentication"', c.deauthFloodWindow),
        rate: c.deauthFloodRate,
      }, 'mist_pcap_wireless_disconnects_total'),
      c.deauthFloodFor,
      'Deauthentication flood at AP {{ $labels.ap_name }} (site {{ $labels.site }})',
      apDesc + ' has captured {{ $value | printf "%.1f" }} deauthentication frames per second '
      + '(sent or received) over %s, for %s (threshold %g/s). Clients are being ' % [c.deauthFloodWindow, c.deauthFloodFor, c.deauthFloodRate]
      + 'disconnected: the reason codes (Client connectivity dashboard) tell whether the AP drops '
      + 'them (4-way handshake timeout, 802.1X failure, inactivity) or the frames are spoofed (an '
      + 'attack or a rogue-AP containment).',
    ),

    r.alert(
      c, 'MistPcapHandshakeFailures', 'warning',
      r.withApName(c, |||
        (
          %(incomplete)s
          /
          %(all)s
          > %(ratio)g
        )
        and on (%(on)s)
        %(all0)s
        >= %(min)g
      ||| % {
        incomplete: I(hs('"incomplete"'), 2),
        all: I(hs('~"complete|incomplete"'), 2),
        all0: hs('~"complete|incomplete"'),
        on: on,
        ratio: c.handshakeFailureRatio,
        min: c.handshakeMinCount,
      }, 'mist_pcap_eapol_handshakes_total'),
      c.handshakeFailuresFor,
      '{{ $value | humanizePercentage }} of WPA handshakes fail at AP {{ $labels.ap_name }} (site {{ $labels.site }})',
      '{{ $value | humanizePercentage }} of the 4-way handshakes captured by ' + apDesc
      + ' over %s were incomplete (threshold %s, at least %g handshakes), for %s. Clients ' % [
        c.handshakeFailuresWindow, pct(c.handshakeFailureRatio), c.handshakeMinCount, c.handshakeFailuresFor,
      ]
      + 'associate but do not get keys: a wrong passphrase (PSK), a RADIUS/802.1X problem, or '
      + 'frames lost on a poor radio link.',
    ),

    // Two conditions, told apart by the label problem: "nak" (the server refuses the clients'
    // requests) and "no_offer" (discovers go unanswered). No offer at all counts as 0 offers.
    r.alert(
      c, 'MistPcapDHCPFailing', 'warning',
      r.withApName(c, |||
        label_replace(
          (
            %(nak)s
            /
            %(acknak4)s
            > %(nakRatio)g
          )
          and on (%(on)s)
          %(acknak2)s
          >= %(min)g,
          "problem", "nak", "", ""
        )
        or
        label_replace(
          (
            (
              %(discover6)s
              -
              (
                %(offer)s
                or
                %(discover8)s * 0
              )
            )
            /
            %(discover4)s
            > %(noOfferRatio)g
          )
          and on (%(on)s)
          %(discover2)s
          >= %(min)g,
          "problem", "no_offer", "", ""
        )
      ||| % {
        nak: I(dhcp('"nak"'), 4),
        acknak4: I(dhcp('~"ack|nak"'), 4),
        acknak2: I(dhcp('~"ack|nak"'), 2),
        discover2: I(dhcp('"discover"'), 2),
        discover4: I(dhcp('"discover"'), 4),
        discover6: I(dhcp('"discover"'), 6),
        discover8: I(dhcp('"discover"'), 8),
        offer: I(dhcp('"offer"'), 8),
        on: on,
        nakRatio: c.dhcpNakRatio,
        noOfferRatio: c.dhcpNoOfferRatio,
        min: c.dhcpMinCount,
      }, 'mist_pcap_wired_dhcp_messages_total'),
      c.dhcpFailingFor,
      'DHCP fails at AP {{ $labels.ap_name }} (site {{ $labels.site }}): {{ if eq $labels.problem "nak" }}NAKs{{ else }}discovers without offer{{ end }}',
      '{{ if eq $labels.problem "nak" }}{{ $value | humanizePercentage }} of the DHCP requests '
      + 'answered on the wired side of ' + apDesc + ' over %s were refused with a NAK ' % c.dhcpFailingWindow
      + '(threshold %s). {{ else }}{{ $value | humanizePercentage }} of the DHCP discovers ' % pct(c.dhcpNakRatio)
      + 'on the wired side of ' + apDesc + ' over %s got no offer (threshold %s). ' % [c.dhcpFailingWindow, pct(c.dhcpNoOfferRatio)]
      + '{{ end }}Clients fail to get an address (at least %g messages, for %s).' % [c.dhcpMinCount, c.dhcpFailingFor],
    ),
  ]
