/* SPDX-License-Identifier: MIT */
/*
 * The layout of a run's shared area, the one thing the shim and xos-run
 * share: xos-run creates it (a file named by XOS_SHIM_AREA), every managed
 * process maps it MAP_SHARED, and xos-run reads the records when the
 * program ends.  Not installed; the layout is private to one build.
 */
#ifndef XOS_SHIM_AREA_H
#define XOS_SHIM_AREA_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#define SHIM_AREA_MAGIC 0x78736d6172656131ull /* "xsmarea1" */
#define SHIM_MAX_EF 8192
#define SHIM_PID_SLOTS (1u << 22) /* PID_MAX_LIMIT on 64-bit Linux */
/* Enough for both ends of 10,000 connections and then some. */
#define SHIM_MAX_CHAN 32768
/* Slots of the index from a kernel object's inode to its channel: one key
 * per pipe, two per socket pair; filled to three quarters at most. */
#define SHIM_INO_SLOTS (1u << 16)
/* Ring slots: each has SHIM_RING_SIZE bytes of address space per
 * direction in the (sparse) area, but a socket's ring starts at
 * SHIM_RING_MIN bytes per direction and doubles when a writer needs more
 * room, so an idle connection's ring touches two pages.  The bytes rings
 * use in all are kept within the area's ring_budget (at most
 * SHIM_RING_BUDGET): past it, new channels stay native and full rings stop
 * growing (their writers wait, as on a full socket buffer). */
#define SHIM_MAX_RING 16384
#define SHIM_RING_SIZE (2048u * 1024u) /* most bytes per direction */
#define SHIM_RING_MIN 4096u           /* a socket ring's first size per direction */
#define SHIM_RING_BUDGET (1ull << 30)
#define SHIM_NAME_MAX 32
/* A pipe on a ring blocks its writers where the kernel pipe would: the ring
 * keeps the kernel's account of the pipe's page buffers (fs/pipe.c), up to
 * this many (the ring's size in pages; a larger pipe stays in the kernel). */
#define SHIM_PIPE_PAGE 4096u
#define SHIM_PIPE_SLOTS 128u
#define SHIM_PIPE_MAX (SHIM_PIPE_SLOTS * SHIM_PIPE_PAGE)

enum shim_icf { SHIM_ICF_NONE = 0, SHIM_ICF_THREAD, SHIM_ICF_PROCESS };

/* How an EF ended. */
enum shim_end {
	SHIM_END_RUNNING = 0,
	SHIM_END_EXIT,      /* process: exit code in value */
	SHIM_END_SIGNAL,    /* process: killed by signal value */
	SHIM_END_RETURN,    /* thread: start routine returned value */
	SHIM_END_PTHREAD_EXIT, /* thread: pthread_exit(value) */
	SHIM_END_WITH_PROCESS, /* thread: its process ended first */
	SHIM_END_UNKNOWN,   /* the process is gone, nobody saw how */
};

struct shim_ef {
	_Atomic uint32_t used;  /* 0 free, 1 valid */
	_Atomic uint32_t end;   /* enum shim_end */
	uint32_t icf;           /* enum shim_icf */
	int32_t parent;         /* EF index, -1: none (the program's root) */
	int32_t pid, tid;
	int64_t value;
	uint64_t start_ns;
	_Atomic uint64_t end_ns;
	uint32_t execs;
	/* == execs when the exec'ing image wrote the name and count for the
	 * image it starts, which then reads its record without touching it. */
	uint32_t exec_ready;
	_Atomic uint32_t threads; /* process: threads it created (0: nothing to end with it) */
	char name[SHIM_NAME_MAX]; /* comm of the last image run */
	/* fds (bit n: fd n < 64) whose ring holds the exec'ing image passes
	 * to its managed successor, which counts them instead of adding its own. */
	_Atomic uint64_t held_fds;
	/* What a peer waiting for this EF's bytes needs to know to choose
	 * between spinning, yielding and sleeping (ready.c): how many waits
	 * of it sleep in the kernel now (a thread: 0 or 1), and the CPU + 1
	 * it last ran on when it left a wait or wrote a ring. */
	_Atomic uint32_t kwait;
	_Atomic uint32_t cpu;
};

enum shim_chan_kind { SHIM_CH_PIPE = 1, SHIM_CH_UNIX, SHIM_CH_UNIX_DGRAM, SHIM_CH_TCP, SHIM_CH_UDP, SHIM_CH_SOCKET };
enum shim_mech { SHIM_MECH_NATIVE = 0, SHIM_MECH_RING };

struct shim_chan {
	_Atomic uint32_t used;
	uint32_t kind;          /* enum shim_chan_kind */
	int32_t creator;        /* EF index */
	int32_t ring;           /* ring slot while upgraded, -1 never */
	uint64_t dev, ino[2];   /* kernel object(s): pipe inode, or each socket end's inode */
	uint64_t created_ns;
	_Atomic uint64_t bytes_in, bytes_out;   /* read / written through the kernel */
	_Atomic uint64_t ring_bytes;            /* written through the ring */
	_Atomic uint32_t upgraded, downgraded;  /* counts of switches */
	char why[48];           /* first downgrade reason, or why it never went on a ring */
	_Atomic uint32_t nonblock; /* bit per end: O_NONBLOCK as the shim last set it */
	/* The ring's life ended with the connection: every reader of a
	 * direction this channel writes was gone (the peer closed), so the
	 * kernel answers its writers from then on (EPIPE, a reset) as it
	 * would natively.  Not a move back: no reader was left to move. */
	_Atomic uint32_t peer_closed;
	_Atomic uint64_t bytes_dead; /* written through the kernel after that, for nobody */
	/* Loopback TCP: bytes written through the kernel before this end's
	 * writers joined the ring its connection was paired with (the accept
	 * came after them): its reader took them from the kernel first. */
	_Atomic uint64_t bytes_before;
	/* Writes of this end in flight through the kernel while its writers
	 * may still join a ring: the join waits for them to be counted. */
	_Atomic uint32_t kwriting;
	/* The same for reads of a connecting fd through the kernel: the
	 * server's writers join the ring only once none is in flight. */
	_Atomic uint32_t kreading;
};

/* Bytes an end of @c wrote through the kernel. */
static inline void shim_chan_count_out(struct shim_chan *c, uint64_t n)
{
	atomic_fetch_add(atomic_load(&c->peer_closed) ? &c->bytes_dead : &c->bytes_out, n);
}

/* One direction of a ring: a byte stream from writers to readers.  A
 * sleeping reader blocks in a real read() of one byte on its kernel fd: the
 * writer sends it a "bell" byte there, and the kernel still tells it about
 * EOF (writers gone) and signals (EINTR or SA_RESTART, as native).  A
 * sleeping writer waits on a futex without timeout, for the same reason. */
struct shim_dir {
	pthread_mutex_t wlock, rlock; /* process-shared, robust: a holder that dies frees them */
	_Atomic uint32_t wseq;        /* bumped when data is published or the mode changes */
	_Atomic uint32_t rseq;        /* bumped when space is freed or the mode changes */
	_Atomic uint32_t rwait, wwait; /* sleeping readers / writers */
	_Atomic uint32_t bells;       /* bell bytes sent through the kernel, not yet read */
	_Atomic uint32_t reader_gone; /* hint: a read end was closed somewhere */
	_Atomic uint32_t wcpu, rcpu;  /* CPU + 1 the last writer / reader ran on */
	_Atomic uint32_t wef;         /* EF index + 1 of the last writer (0: none yet) */
	_Atomic uint32_t spin_ns;     /* adaptive spin budget before sleeping */
	_Atomic uint32_t cap;         /* bytes a writer may have unread before it blocks */
	_Atomic uint64_t head, tail;  /* bytes written / read since the start */
	/* Pipes: the kernel's page buffers as they would be, under wlock.
	 * Buffer i (btail <= i < bhead, modulo SHIM_PIPE_SLOTS) holds stream
	 * bytes [bend - blen, bend); it is free once tail reaches bend. */
	uint32_t slots;               /* the pipe's size in pages (0: a socket) */
	uint32_t bhead, btail;
	uint16_t blen[SHIM_PIPE_SLOTS];
	uint64_t bend[SHIM_PIPE_SLOTS];
	/* Waiters (poll in progress, epoll registrations) on the reading
	 * side: a writer keeps a bell pending for them (see ready.c).  Who
	 * writes and reads it: the ring's ends[]. */
	_Atomic uint32_t armed;
	/* Loopback TCP paired by a late accept: the writers started on the
	 * kernel socket (PRE_OPEN) and join the ring later (PRE_SET), after
	 * pre_len bytes there; readers take those from the kernel first
	 * (pre_read of them so far), then the ring.  See tcp.c. */
	_Atomic uint32_t pre;         /* enum shim_pre */
	_Atomic uint64_t pre_len, pre_read;
	/* Its readers joined (rjoined), and no read of theirs through the
	 * kernel is in flight any more (rready): its writers may join. */
	_Atomic uint32_t rjoined, rready;
};
enum shim_pre { SHIM_PRE_NONE = 0, SHIM_PRE_OPEN, SHIM_PRE_SET };

/* Loopback TCP: listening ports of managed processes, and connections
 * whose two ends meet here to agree on a ring before any byte moves. */
#define SHIM_MAX_LISTEN 1024
#define SHIM_MAX_PAIR 16384
#define SHIM_PAIR_PROBE 64 /* a connection's entry is this close to its hash */
enum shim_pair_state { SHIM_PAIR_EMPTY = 0, SHIM_PAIR_WAITING, SHIM_PAIR_PAIRED, SHIM_PAIR_DEAD };

struct shim_pair {
	_Atomic uint32_t state;   /* enum shim_pair_state */
	int32_t cchan, achan;     /* the connecting and the accepted socket's channels */
	int32_t slot;             /* ring once paired */
	uint64_t t_ns;            /* when the first side arrived */
	uint8_t key[40];          /* client address+port, server address+port */
};

/* BROKEN: a process found the ring's shared state impossible (cursors out
 * of bounds or going back): its bytes cannot be trusted, every end fails
 * with EIO. */
enum shim_ring_mode { SHIM_RING_FREE = 0, SHIM_RING_LIVE, SHIM_RING_KERNEL, SHIM_RING_BROKEN };

struct shim_ring {
	_Atomic uint32_t mode;  /* enum shim_ring_mode */
	_Atomic uint32_t gen;   /* bumped on each reuse of the slot */
	int32_t chan;
	uint32_t ndirs;
	_Atomic int32_t holders; /* fds, in all processes, that use the ring; 0: reusable */
	_Atomic int32_t ends[2]; /* the same, per end */
	/* Bytes of ring data per direction: a power of two from SHIM_RING_MIN
	 * to SHIM_RING_SIZE; changed under both locks of the direction. */
	_Atomic uint32_t size[2];
	/* Half closes of a socket (shutdown): SHIM_SHUT_WR << d, the writers
	 * of direction d shut it; SHIM_SHUT_RD << d, its readers did. */
	_Atomic uint32_t shut;
	struct shim_dir dir[2];
};
#define SHIM_SHUT_WR 1u
#define SHIM_SHUT_RD 4u

struct shim_area {
	uint64_t magic;
	uint64_t size;
	uint64_t t0_ns;
	_Atomic uint32_t nef, nchan;
	pthread_mutex_t ring_lock;   /* ring slots and the TCP pairing table */
	_Atomic int32_t root_status; /* written by xos-run */
	uint64_t ring_off;           /* offset of the ring data */
	uint64_t ring_budget;        /* bytes of ring data a run may use */
	_Atomic uint64_t ring_used;  /* bytes of ring data in use (slots' sizes) */
	_Atomic uint32_t ring_next;  /* where the search for a free slot starts */
	_Atomic uint32_t ring_peak;  /* slots ever used */
	/* Made after the table was full, by kind (enum shim_chan_kind): not
	 * recorded, never on a ring, their bytes not counted. */
	_Atomic uint64_t chan_unrecorded[8];
	_Atomic uint64_t ef_unrecorded;
	_Atomic uint32_t listen_port[SHIM_MAX_LISTEN]; /* host order; 0: free */
	_Atomic uint32_t ino_keys;  /* keys in ino_chan */
	_Atomic uint32_t ino_full;  /* keys left out of it: it was full */
	/* Every image touches, as it starts, this header, its EF record and
	 * its pid's slot (and, if it inherited a pipe or a socket, the inode
	 * index): these first, so that they share one page table of the
	 * mapping (2 MiB) for pids below ~225,000, instead of each costing
	 * one, made and freed with every image (~50 us here). */
	struct shim_ef ef[SHIM_MAX_EF];
	/* (dev, inode) -> 1 + the newest channel whose kernel object it is
	 * (0: free): open addressing, keys only added, as channels are.  An
	 * image finds the channels it inherited in a page or two instead of
	 * reading the whole channel table, a page fault per 25 channels the
	 * run ever made (report.c). */
	_Atomic int32_t ino_chan[SHIM_INO_SLOTS];
	/* pid -> 1 + the newest process EF record given that pid (0: none),
	 * one slot per possible pid: a new image finds its record and its
	 * parent's without reading the EF table (a sparse 16 MiB, of which
	 * a run touches the pages of the pids it uses). */
	_Atomic int32_t pid_ef[SHIM_PID_SLOTS];
	struct shim_pair pair[SHIM_MAX_PAIR];
	struct shim_chan chan[SHIM_MAX_CHAN];
	struct shim_ring ring[SHIM_MAX_RING];
};

/* Where the ring data starts: a constant of the build, never read back
 * from the area (which any process of the run can write). */
static inline uint64_t shim_ring_data_off(void)
{
	return (sizeof(struct shim_area) + 4095) & ~4095ull;
}

static inline uint64_t shim_area_bytes(void)
{
	return shim_ring_data_off() + (uint64_t)SHIM_MAX_RING * 2 * SHIM_RING_SIZE;
}

/* A lock of the area: shared by processes, and robust, so that a process
 * killed while holding it does not block the others forever. */
static inline void shim_lock_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
}

/* Fill a fresh area's header (the rest is zero). */
static inline void shim_area_init(struct shim_area *a, uint64_t now_ns)
{
	shim_lock_init(&a->ring_lock);
	a->magic = SHIM_AREA_MAGIC;
	a->size = shim_area_bytes();
	a->t0_ns = now_ns;
	a->ring_off = shim_ring_data_off();
	a->ring_budget = SHIM_RING_BUDGET;
	atomic_store(&a->root_status, -1);
}

/* The bytes of a fresh area's header (what shim_area_init writes), for a
 * file whose rest reads as zero: written with pwrite, never mapped. */
#define SHIM_AREA_HEAD_BYTES offsetof(struct shim_area, listen_port)
static inline void shim_area_head(unsigned char *buf, uint64_t now_ns)
{
	pthread_mutex_t lock;
	uint64_t u64;
	int32_t status = -1;

	memset(buf, 0, SHIM_AREA_HEAD_BYTES);
	/* A process-shared mutex holds no address: its bytes work where they are copied to. */
	shim_lock_init(&lock);
	memcpy(buf + offsetof(struct shim_area, ring_lock), &lock, sizeof(lock));
	u64 = SHIM_AREA_MAGIC;
	memcpy(buf + offsetof(struct shim_area, magic), &u64, sizeof(u64));
	u64 = shim_area_bytes();
	memcpy(buf + offsetof(struct shim_area, size), &u64, sizeof(u64));
	memcpy(buf + offsetof(struct shim_area, t0_ns), &now_ns, sizeof(now_ns));
	u64 = shim_ring_data_off();
	memcpy(buf + offsetof(struct shim_area, ring_off), &u64, sizeof(u64));
	u64 = SHIM_RING_BUDGET;
	memcpy(buf + offsetof(struct shim_area, ring_budget), &u64, sizeof(u64));
	memcpy(buf + offsetof(struct shim_area, root_status), &status, sizeof(status));
}

static inline const char *shim_chan_kind_name(uint32_t kind)
{
	switch (kind) {
	case SHIM_CH_PIPE: return "pipe";
	case SHIM_CH_UNIX: return "unix";
	case SHIM_CH_UNIX_DGRAM: return "unix-dgram";
	case SHIM_CH_TCP: return "tcp";
	case SHIM_CH_UDP: return "udp";
	default: return "socket";
	}
}

#endif /* XOS_SHIM_AREA_H */
