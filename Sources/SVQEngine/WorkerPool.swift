// The engine's own worker threads, on which its parallel loops and the pieces of its matrix products run.
//
// Why a pool of our own (not OpenMP's team, not Dispatch): the library is embedded in other programs.
// - A process that forks after using libgomp's team hangs in the child on its next parallel region (the
//   child inherits the team's state but not its threads). A fork handler here forgets the parent's workers,
//   and the child starts its own on its first parallel loop.
// - On a busy machine, libgomp's workers spin for ~300 000 iterations after every region; with other
//   processes on the cores, those spins took the time the work needed (one encode: 4.3 ms idle, 274 ms
//   beside two busy processes). Here a worker spins only briefly (`spinNanoseconds`) and then sleeps.
// - Items are claimed one at a time by whoever is free, the caller included, so a worker the scheduler
//   has not woken yet holds nothing up: the caller takes its items.
// One caller at a time: a second thread that starts a loop while the pool is busy runs it alone (its
// cores are taken anyway). Results never depend on which thread runs an item.

import Synchronization

#if canImport(Glibc)
import Glibc
#endif

final class WorkerPool: @unchecked Sendable {
    /// The process's pool. Replaced (never freed) in a forked child: the parent's workers do not exist there,
    /// and the old pool's lock may be held by one of them.
    nonisolated(unsafe) private(set) static var shared: WorkerPool = {
        pthread_atfork(nil, nil, { WorkerPool.shared = WorkerPool() })
        return WorkerPool()
    }()

    /// How long an idle worker spins for a new loop (and a caller for its last items) before it sleeps:
    /// longer than most serial gaps between the loops of one call, short enough to cost a busy machine little.
    static let spinNanoseconds = 50_000

    /// Spins until `ready()` or for `spinNanoseconds`; whether `ready()` became true.
    private static func spin(until ready: () -> Bool) -> Bool {
        var start = timespec(), now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        while true {
            for _ in 0..<64 where ready() { return true }
            clock_gettime(CLOCK_MONOTONIC, &now)
            if (now.tv_sec - start.tv_sec) * 1_000_000_000 + (now.tv_nsec - start.tv_nsec) > spinNanoseconds {
                return false
            }
        }
    }

    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Workers sleep on it waiting for a loop.
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// A caller sleeps on it waiting for the last item of its loop.
    private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    // Under `lock`:
    private var job: Job?
    private var workers = 0
    private var sleepers = 0

    /// Bumped for each loop; what a spinning worker watches (without the lock).
    private let generation = Atomic<Int>(0)
    /// Set while a caller's loop runs.
    private let busy = Atomic<Bool>(false)

    private init() {
        pthread_mutex_init(lock, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(finished, nil)
    }

    /// One loop: items 0..<count, each claimed once by the caller or a worker.
    private final class Job {
        let count: Int
        /// Set to nil by the caller once every item has run: `withoutActuallyEscaping` requires that no
        /// copy of the caller's closure outlives the call, and a worker may still hold the job.
        var body: ((Int) -> Void)?
        let generation: Int
        /// Workers that may still join (the caller is not counted).
        var seats: Int
        let next = Atomic<Int>(0)
        let done = Atomic<Int>(0)

        init(count: Int, body: @escaping (Int) -> Void, generation: Int, seats: Int) {
            self.count = count
            self.body = body
            self.generation = generation
            self.seats = seats
        }
    }

    /// Runs `body(i)` for i in 0..<count on the calling thread and up to `threads - 1` workers; returns when
    /// every call has returned.
    func run(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        guard count > 1, threads > 1, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            for i in 0..<count { body(i) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            pthread_mutex_lock(lock)
            startWorkers(min(threads, count) - 1)
            let job = Job(count: count, body: body, generation: generation.load(ordering: .relaxed) + 1,
                          seats: min(threads, count) - 1)
            self.job = job
            generation.store(job.generation, ordering: .releasing)
            if sleepers > 0 { pthread_cond_broadcast(wake) }
            pthread_mutex_unlock(lock)

            work(on: job)
            // The caller has claimed the last item; wait for the items workers are still running.
            _ = Self.spin { job.done.load(ordering: .acquiring) == count }
            pthread_mutex_lock(lock)
            while job.done.load(ordering: .acquiring) < count { pthread_cond_wait(finished, lock) }
            self.job = nil
            pthread_mutex_unlock(lock)
            job.body = nil
        }
    }

    /// Claims and runs items of `job` until none is left.
    private func work(on job: Job) {
        while true {
            let i = job.next.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= job.count { return }
            job.body!(i)   // set: a claimed item is not done, so the caller is still waiting
            if job.done.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == job.count {
                pthread_mutex_lock(lock)
                pthread_cond_signal(finished)
                pthread_mutex_unlock(lock)
            }
        }
    }

    /// Starts workers until there are `n` (called with `lock` held).
    private func startWorkers(_ n: Int) {
        while workers < n {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            guard pthread_create(&thread, nil, { context in
                Unmanaged<WorkerPool>.fromOpaque(context!).takeRetainedValue().workerLoop()
            }, context) == 0 else {
                Unmanaged<WorkerPool>.fromOpaque(context).release()
                return   // no more threads: the loops run on those there are (the caller at least)
            }
            pthread_detach(thread)
            workers += 1
        }
    }

    private func workerLoop() -> Never {
        var seen = 0
        pthread_mutex_lock(lock)
        while true {
            if let job, job.generation != seen {
                seen = job.generation
                if job.seats > 0 {
                    job.seats -= 1
                    pthread_mutex_unlock(lock)
                    work(on: job)
                    pthread_mutex_lock(lock)
                }
                continue
            }
            seen = generation.load(ordering: .relaxed)   // under the lock: no newer loop to join
            pthread_mutex_unlock(lock)
            _ = Self.spin { generation.load(ordering: .acquiring) != seen }
            pthread_mutex_lock(lock)
            if generation.load(ordering: .relaxed) == seen {
                sleepers += 1
                pthread_cond_wait(wake, lock)
                sleepers -= 1
            }
        }
    }
}
