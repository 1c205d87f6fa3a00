/*
 * reclaim.pml - retire -> remote TLB flush -> free, for the reclamation
 * strategies rcu, llist and wrlock (docs/design.md, "Reclamation", "The
 * remote TLB flush", "vCPUs, the TLB and the hardware walker").
 *
 * One table T hangs off a parent entry.  The unlinker (a fault that
 * replaces T with a huge leaf) unlinks it, retires it and flushes; the
 * strategy frees it.  Three kinds of walker may hold a pointer to T
 * meanwhile: a software walker under the MMU read lock, a lockless walker
 * (fast page fault) and a vCPU's hardware walker with its TLB.  Every
 * dereference of T asserts no_walker_dereferences_a_freed_table.
 *
 * Pick one strategy:  -DRCU | -DLLIST | -DWRLOCK
 * and at most one bug (each must be caught):
 *   -DBUG_FREE_NO_WAIT    free T at retire: no grace period / no drain
 *   -DBUG_SKIP_FLUSH      no remote TLB flush at all (nor the drain's)
 *   -DBUG_NO_HOLDOFF      llist, wrlock: the flush does not wait for
 *                         lockless walkers
 *   -DBUG_NO_READER_WAIT  nothing waits for walkers under the lock: rcu's
 *                         callback runs once the flush is done; llist
 *                         drains without the write lock; wrlock unlinks
 *                         under the read lock
 *   -DBUG_FLUSH_NO_MUTEX  flushes are not serialised, so a flush that finds
 *                         the vCPU already kicked by another does not wait
 *
 * Memory is sequentially consistent: each Promela statement is one atomic
 * seq_cst access, which is what the Dekker pairs of the implementation
 * (reader fence/writer fence, request/mode, walking counter/unlink) buy.
 */

#if defined(RCU) + defined(LLIST) + defined(WRLOCK) != 1
#error "define exactly one of RCU, LLIST, WRLOCK"
#endif
#if defined(BUG_NO_HOLDOFF) && defined(RCU)
#error "BUG_NO_HOLDOFF applies to LLIST and WRLOCK only"
#endif
#if defined(LLIST) || defined(WRLOCK)
#define LIST 1
#endif

#define LEAF	0	/* parent entry: the huge leaf that replaced T */
#define TABLE	1	/* parent entry: points to T */

#define OUTSIDE	0	/* vCPU modes, as in KVM */
#define IN	1
#define EXITING	2

byte parent = TABLE;
bool freed;

/* Stays true unless a dereference finds T freed; the assert names it. */
bool no_walker_dereferences_a_freed_table = true;

/* Every access to T's memory (reading an entry, setting A/D) goes here. */
inline deref()
{
	atomic {
		no_walker_dereferences_a_freed_table = !freed;
		assert(no_walker_dereferences_a_freed_table)
	}
}

inline free_table()
{
	assert(!freed);		/* retired once, so freed once */
	freed = true
}

/*
 * The MMU rwlock: a reader gets in only while no writer has announced
 * itself; a writer (writers serialise) announces itself, then waits for
 * the readers inside to leave.  So a write section excludes every read
 * section, and a read section that began before it has ended.
 */
byte readers;
bool writer;

inline read_lock()
{
	atomic { !writer -> readers++ }
}

inline read_unlock()
{
	readers--
}

inline write_lock()
{
	atomic { !writer -> writer = true };
	readers == 0
}

inline write_unlock()
{
	writer = false
}

/*
 * RCU, abstractly: reader i's counter is odd while it is in a read-side
 * section.  A grace period waits, for each reader in a section when it
 * looks, until that reader's counter moves.
 */
#ifdef RCU
#define R_UNLINK	0
#define R_WALK		1
#define R_LOCKLESS	2
#define NR_READERS	3
byte rcu_seq[NR_READERS];
bool retired;		/* call_rcu() done: the callback is queued */
bool flush_done;	/* for BUG_NO_READER_WAIT only */

inline rcu_enter(i)
{
	rcu_seq[i]++
}

inline rcu_exit(i)
{
	rcu_seq[i]++
}
#endif

/*
 * List strategies: retire pushes T (a flag here: one table) and records
 * how many flushes had started; the lockless walker's counter is odd
 * while it walks, and every flush waits for an odd counter to move.
 */
#ifdef LIST
bool list;		/* T is on the retire list */
byte retire_flushes;	/* flushes_started when T was retired */
byte flushes_started;
byte flushes_done;
byte walking;		/* the lockless walker's counter */
#endif

/* The vCPU: mode, request word (one bit: TLB flush) and its TLB. */
byte vmode = OUTSIDE;
bool vreq;
bool tlb;		/* the TLB caches a pointer to an entry of T */

bool vcpus_mutex;	/* serialises flushers, as in tlb_flush.c */

/*
 * The remote TLB flush: set the request, kick the vCPU if it is in guest
 * mode (CAS IN -> EXITING), wait until a kicked vCPU has left.  A vCPU
 * that was not kicked is outside guest mode, or entered after the request
 * store and will see it (the request/mode Dekker pair), or was kicked by
 * a flush still waiting for it, which the mutex rules out.  List
 * strategies then wait for the lockless walker if it is walking.
 */
inline flush(my, snap, kicked)
{
#ifndef BUG_FLUSH_NO_MUTEX
	atomic { !vcpus_mutex -> vcpus_mutex = true };
#endif
#ifdef LIST
	d_step { flushes_started++; my = flushes_started };
#endif
	vreq = true;
	atomic {
		if
		:: vmode == IN -> vmode = EXITING; kicked = true
		:: else -> kicked = false
		fi
	};
	if
	:: kicked -> vmode != EXITING
	:: else -> skip
	fi;
#ifndef BUG_FLUSH_NO_MUTEX
	vcpus_mutex = false;
#endif
#if defined(LIST) && !defined(BUG_NO_HOLDOFF)
	snap = walking;
	if
	:: snap % 2 == 1 -> walking != snap	/* hold-off */
	:: else -> skip
	fi;
#endif
#ifdef LIST
	atomic {
		if
		:: flushes_done < my -> flushes_done = my
		:: else -> skip
		fi
	};
#endif
	kicked = false;
	snap = 0
}

/* reclaim_retire(), under the MMU lock, right after the unlink. */
inline retire()
{
#ifdef BUG_FREE_NO_WAIT
	free_table();
#elif defined(RCU)
	retired = true;
#else
	d_step { retire_flushes = flushes_started; list = true };
#endif
}

#ifdef LIST
/* Free what was taken off the list, flushing first unless a flush that
 * started after the retire has completed (drain_batch). */
inline free_batch(batch, my, snap, kicked)
{
	if
	:: batch ->
#ifndef BUG_SKIP_FLUSH
		if
		:: flushes_done <= retire_flushes -> flush(my, snap, kicked)
		:: else -> skip
		fi;
#endif
		free_table();
		batch = false
	:: else -> skip
	fi
}
#endif

#ifdef LLIST
/* After a read-side section that leaves the list non-empty: take the
 * write lock (every reader that could reach T leaves), take the list,
 * unlock, free. */
inline drain(batch, my, snap, kicked)
{
	if
	:: list ->
#ifndef BUG_NO_READER_WAIT
		write_lock();
#endif
		atomic { batch = list; list = false };
#ifndef BUG_NO_READER_WAIT
		write_unlock();
#endif
		free_batch(batch, my, snap, kicked)
	:: else -> skip
	fi
}
#endif

/*
 * The unlinker: a fault that replaces T with a huge leaf, under the read
 * lock (rcu, llist) or the write lock (wrlock).  It freezes T's entries
 * (a dereference), retires T and flushes before it ends its walk.
 */
active proctype unlinker()
{
	byte my, snap;
	bool kicked, batch;

#if defined(WRLOCK) && !defined(BUG_NO_READER_WAIT)
	write_lock();
#else
	read_lock();
#endif
#ifdef RCU
	rcu_enter(R_UNLINK);
#endif
	parent = LEAF;		/* exchange of the parent entry: T -> leaf */
	deref();		/* freeze T's entries */
	retire();
#ifndef BUG_SKIP_FLUSH
	flush(my, snap, kicked);
#endif
#ifdef RCU
	flush_done = true;
	rcu_exit(R_UNLINK);
	read_unlock()
#elif defined(LLIST)
	read_unlock();
	drain(batch, my, snap, kicked)
#else
	/* wrlock: take the list and free before releasing the lock */
	atomic { batch = list; list = false };
	free_batch(batch, my, snap, kicked);
#ifdef BUG_NO_READER_WAIT
	read_unlock()
#else
	write_unlock()
#endif
#endif
}

/* A software walk under the read lock (a fault, a zap, the audit): it may
 * reach T through the parent entry and then read T. */
active proctype walker()
{
	bool batch, kicked;
	byte my, snap;

	read_lock();
#ifdef RCU
	rcu_enter(R_WALK);
#endif
	if
	:: parent == TABLE -> deref()
	:: else -> skip
	fi;
#ifdef RCU
	rcu_exit(R_WALK);
#endif
	read_unlock();
#ifdef LLIST
	drain(batch, my, snap, kicked)
#endif
}

/* The fast page fault: no MMU lock; an RCU read-side section under rcu,
 * an odd walking counter (flush hold-off) otherwise. */
active proctype lockless()
{
#ifdef RCU
	rcu_enter(R_LOCKLESS);
#else
	walking++;
#endif
	if
	:: parent == TABLE -> deref()
	:: else -> skip
	fi;
#ifdef RCU
	rcu_exit(R_LOCKLESS)
#else
	walking++
#endif
}

/*
 * A vCPU: enters guest mode twice at most.  Entry stores the mode, then
 * reads the request; a pending flush sends it out to flush its TLB.  In
 * guest mode it makes up to two accesses, each through the TLB (which may
 * set D through the cached pointer into T) or by walking from the parent
 * entry; it leaves when kicked or whenever it likes.  It is in no RCU
 * read-side section: only the flush protects it.
 */
active proctype vcpu()
{
	byte entries, acc;

	do
	:: entries < 2 ->
		entries++;
		vmode = IN;
		if
		:: vreq ->
			vmode = OUTSIDE;
			vreq = false;
			tlb = false
		:: else ->
			acc = 0;
			do
			:: vmode == IN && acc < 2 ->
				acc++;
				if
				:: tlb -> deref()
				:: !tlb && parent == TABLE ->
					deref();
					tlb = true
				:: !tlb && parent == LEAF -> skip
				fi
			:: break
			od;
			acc = 0;
			vmode = OUTSIDE
		fi
	:: else -> break
	od
}

/* An unrelated remote TLB flush (dirty logging, write protection). */
active proctype flusher()
{
	byte my, snap;
	bool kicked;

	flush(my, snap, kicked)
}

#if defined(RCU) && !defined(BUG_FREE_NO_WAIT)
/* The RCU callback: after a grace period that began at the retire. */
active proctype rcu_callback()
{
	byte i, snap;

	retired;
#ifdef BUG_NO_READER_WAIT
	flush_done;
#else
	for (i : 0 .. NR_READERS - 1) {
		snap = rcu_seq[i];
		if
		:: snap % 2 == 1 -> rcu_seq[i] != snap
		:: else -> skip
		fi
	};
#endif
	free_table()
}
#endif

/* Once every process has finished, the retired table must be freed. */
active proctype finish()
{
	timeout -> assert(freed)
}
