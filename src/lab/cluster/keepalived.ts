/**
 * keepalived.conf for one balancer of the lab's balancer tier (pure). One VRRP instance floats the
 * virtual IP between balancers that all start as BACKUP with the same priority, over unicast.
 *  - The VRRP process runs with real-time scheduling: on a busy machine an ordinary process sent or
 *    read its adverts late, a backup declared the live holder dead, and with equal priorities the
 *    higher address kept the VIP — it moved while both ran, resetting the holder's connections.
 *  - HAProxy exits → a file keepalived tracks reads 1 → FAULT at once: the node gives up the VIP
 *    (priority 0 advert) and a peer takes it within a few advert intervals, not a check interval.
 *  - The check (ha/keepalived/check-balancer.sh) clears that file once HAProxy serves and the agent is
 *    healthy and converged, so a node that comes back holds nothing until it is ready; while HAProxy
 *    does not serve for `fall` runs the node's priority drops by `weight`, so a ready peer takes over.
 *  - Equal priorities: a ready node never takes the VIP back from a ready master (no flapping), and
 *    when every node fails the check at once (no web server at all) the VIP stays where it is.
 */
import { z } from 'zod';

const word = z.string().regex(/^[\w./:;=@+,-]+$/, 'no spaces or quotes');
const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'an IPv4 address');

export const keepalivedSchema = z.object({
  routerId: word,
  device: word,
  address: ipv4,
  peers: z.array(ipv4).min(1),
  /** The virtual IP with its prefix length, e.g. 10.231.0.100/24. */
  vip: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/),
  vrid: z.number().int().min(1).max(255),
  /** The readiness check: a command and its arguments. */
  check: z.array(word).min(1),
  /** The file HAProxy's exit sets to 1 and a passing check sets to 0. */
  downFile: word,
});
export type KeepalivedSettings = z.input<typeof keepalivedSchema>;

/** One priority for all: who holds the VIP changes only when the holder fails. */
export const PRIORITY = 100;
/** VRRPv3 adverts every 20 ms: a dead holder (keepalived gone) is replaced after ~3.6 intervals, ~72 ms. */
export const ADVERT_INTERVAL_S = 0.02;
/** SCHED_RR priority of keepalived's VRRP process (1–99): its adverts leave and are read on time under load. */
export const VRRP_RT_PRIORITY = 50;
/**
 * A real-time process is killed after this much CPU time (µs) without blocking. keepalived's default,
 * 10 ms, killed the VRRP process as it entered MASTER on a busy machine (keepalived logged
 * "has rlimit_rttime been exceeded?"): it restarted as BACKUP, and the peer took the VIP.
 */
export const VRRP_RLIMIT_RTTIME_US = 200_000;

export function keepalivedConfig(input: KeepalivedSettings): string {
  const s = keepalivedSchema.parse(input);
  return `# Rendered by the ha-agent lab (src/lab/cluster/keepalived.ts) for ${s.routerId}.
global_defs {
    router_id ${s.routerId}
    vrrp_version 3
    script_user root
    enable_script_security
    vrrp_rt_priority ${VRRP_RT_PRIORITY}
    vrrp_rlimit_rttime ${VRRP_RLIMIT_RTTIME_US}
}

vrrp_script balancer_ready {
    script "${s.check.join(' ')}"
    interval 1
    timeout 3
    fall 3
    rise 1
    weight -50
}

track_file haproxy_down {
    file ${s.downFile}
    weight 0
}

vrrp_instance balancers {
    state BACKUP
    interface ${s.device}
    virtual_router_id ${s.vrid}
    priority ${PRIORITY}
    advert_int ${ADVERT_INTERVAL_S}
    unicast_src_ip ${s.address}
    unicast_peer {
${s.peers.map((peer) => `        ${peer}`).join('\n')}
    }
    virtual_ipaddress {
        ${s.vip} dev ${s.device}
    }
    track_script {
        balancer_ready
    }
    track_file {
        haproxy_down
    }
}
`;
}
