#include "net.h"

#include "arch.h"
#include "console.h"
#include "lib/muldiv.h"

_Static_assert(CFG_SWITCH_PORTS_MAX <= VSW_PORTS_MAX, "a switch holds the ports a config may give it");
_Static_assert(CFG_PORT_NAME_MAX <= VSW_NAME_MAX, "a port's name fits");
_Static_assert(CFG_MAC_LEN == VSW_MAC_LEN, "one MAC length");

#define POLL_BUDGET 64 /* frames per switch per poll: CPU 0 also runs the console */

static struct vswitch switches[CFG_SWITCHES_MAX];
static uint32_t nswitches;
static struct {
	const struct cfg_partition *part;
	uint32_t index;
	struct vswitch *sw;
	struct vsw_port *port;
} ports[CFG_PARTITIONS_MAX * CFG_NETS_MAX];
static uint32_t nports;
/* TSC ticks of devices' notifications and of polls that forwarded: instructions, under QEMU's -icount. */
static uint64_t spent_ticks;

void net_init(const struct hv_config *cfg)
{
	char name[CFG_PORT_NAME_MAX];
	uint32_t i, p;

	for (i = 0; i < cfg->nswitches; i++)
		vsw_init(&switches[i], cfg->switches[i].name);
	nswitches = cfg->nswitches;
	for (p = 0; p < cfg->npartitions; p++) {
		const struct cfg_partition *part = &cfg->partitions[p];
		for (i = 0; i < part->nnets; i++) {
			struct vswitch *sw = &switches[part->nets[i].switch_index];
			cfg_port_name(part, i, name);
			ports[nports].part = part;
			ports[nports].index = i;
			ports[nports].sw = sw;
			ports[nports++].port = vsw_add_port(sw, name, part->nets[i].mac); /* the parser counted them */
		}
	}
}

struct vsw_port *net_port(const struct cfg_partition *p, uint32_t index, struct vswitch **sw)
{
	uint32_t i;

	for (i = 0; i < nports; i++) {
		if (ports[i].part == p && ports[i].index == index) {
			*sw = ports[i].sw;
			return ports[i].port;
		}
	}
	return 0;
}

uint64_t net_now_ns(void)
{
	return mul_div(arch_tsc(), 1000000000ull, arch_tsc_hz());
}

uint64_t net_ticks(void)
{
	return arch_tsc();
}

void net_spent(uint64_t start)
{
	__atomic_fetch_add(&spent_ticks, arch_tsc() - start, __ATOMIC_RELAXED);
}

void net_poll(void)
{
	uint64_t start = net_ticks(), now = net_now_ns();
	uint32_t i, forwarded = 0;

	for (i = 0; i < nswitches; i++)
		forwarded += vsw_forward(&switches[i], now, POLL_BUDGET);
	if (forwarded)
		net_spent(start);
}

static void show_port(struct vswitch *sw, const struct vsw_port *port)
{
	const uint8_t *m = port->mac;
	struct vsw_counters c;
	unsigned why, dropped = 0;

	vsw_port_counters(sw, port, &c);
	console_print("  %-20s %02x:%02x:%02x:%02x:%02x:%02x %-4s tx %llu frames %llu bytes, rx %llu frames %llu "
		      "bytes, drops", port->name, m[0], m[1], m[2], m[3], m[4], m[5], port->ops ? "up" : "down",
		      (unsigned long long)c.tx_frames, (unsigned long long)c.tx_bytes,
		      (unsigned long long)c.rx_frames, (unsigned long long)c.rx_bytes);
	for (why = VSW_DROP_NONE + 1; why < VSW_DROP_REASONS; why++) {
		if (c.drops[why]) {
			console_print(" %s %llu", vsw_drop_name((enum vsw_drop)why), (unsigned long long)c.drops[why]);
			dropped = 1;
		}
	}
	console_print("%s\n", dropped ? "" : " none");
}

void net_show(void)
{
	uint32_t i, p;

	if (!nswitches)
		console_print("no switches: hv.cfg declares none ([switch NAME])\n");
	for (i = 0; i < nswitches; i++) {
		console_print("switch %s: %u port%s\n", switches[i].name, switches[i].nports,
			      switches[i].nports == 1 ? "" : "s");
		for (p = 0; p < switches[i].nports; p++)
			show_port(&switches[i], &switches[i].ports[p]);
	}
	if (nswitches)
		console_print("switching: %llu TSC ticks in devices' notifications and polls that forwarded\n",
			      (unsigned long long)__atomic_load_n(&spent_ticks, __ATOMIC_RELAXED));
}
