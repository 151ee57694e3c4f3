namespace AiGateway.Storage;

/// <summary>
/// Group commit for this process's SQLite ledger writers. SQLite has one writer at a time, and each commit writes the
/// pages it touched to the WAL; under load most of a ledger operation's cost was its own BEGIN/COMMIT. Here operations
/// still run one at a time (the gate), but consecutive ones share one transaction, each inside its own savepoint:
/// an operation that fails or returns early rolls back only its savepoint. The transaction is committed by a
/// committer queued behind the work that is ready to run (so operations arriving meanwhile join it), or at once when
/// it holds <see cref="_maxOps"/> operations. An operation's <see cref="LedgerSession.CommitAsync"/> returns only
/// after the shared commit is durable, and throws if it failed, so callers see exactly what they saw with one
/// transaction each. The gate is held only while an operation runs, never while it waits for the commit.
/// A group holds SQLite's write lock while open, so it must never wait on a busy thread pool: a watchdog thread owned by
/// the group commits it when left open longer than <see cref="MaxOpen"/> (e.g. when other connections, in this process
/// or another, are blocking the pool's threads waiting for that very lock).
/// <para>
/// The operation that opens a group runs without a savepoint: nothing else is in the transaction yet and nothing can
/// join while it runs (it holds the gate), so undoing it is rolling the transaction back; SQLite then keeps no statement
/// journal copy of the pages it touches. An operation may ask to be committed as soon as it ends
/// (<see cref="LeaveAsync"/> with <c>commitNow</c>): the settlement batch writer, which gathers its calls itself, so its
/// commit neither waits behind the thread pool's queue for the queued committer nor hops back to the batch writer after.
/// </para>
/// <para>
/// Checkpoints: SQLite's automatic checkpoint ran inside the COMMIT that took the WAL past its limit, so the calls of
/// that commit waited for the copy and its two fsyncs (on a disk whose fsync takes ½ ms, a lone call's COMMIT read p90
/// 0.6–1.1 ms and p99 2.8–5.4 ms instead of 0.2–0.3 / 0.6–1.0). The group's connections carry a WAL commit hook instead
/// (<see cref="SqliteWalHook"/>): after a commit that reached the limit its members are answered first, and the same
/// PASSIVE checkpoint runs then, on a task of its own that holds the gate until it ends (<see cref="ReleaseGate"/>),
/// so whoever committed — often the settlement batch writer, the commit's only member — goes on at once.
/// </para>
/// </summary>
internal sealed class SqliteWriteGroup(LedgerConnectionPool pool, int maxOps) : IAsyncDisposable
{
    private readonly int _maxOps = Math.Max(1, maxOps);
    private readonly SemaphoreSlim _gate = new(1, 1);
    // The open group (under _gate): its connection inside BEGIN IMMEDIATE, the operations in it, and their commit.
    private LedgerConnection? _connection;
    private TaskCompletionSource? _committed;
    private int _ops;
    // The running operation opened the group and has no savepoint (see the class comment).
    private bool _withoutSavepoint;
    private int _commitQueued;
    // The WAL size (pages) at which the open group's commit checkpoints, as its operations asked (0: as the connection is).
    private int _checkpointPages;
    // A connection whose commit left a checkpoint due, run as the gate is freed (see ReleaseGate; gate held).
    private LedgerConnection? _checkpointDue;
    // The WAL's frames when the last checkpoint after a commit began (gate held; 0 once the WAL restarted).
    private int _walAtCheckpoint;

    /// <summary>
    /// The WAL size at which the commit of a quiet gateway's settlement batch checkpoints. The checkpoint runs after the
    /// commit that takes the WAL past it, once that commit's calls are answered (<see cref="CheckpointAfterCommitAsync"/>),
    /// but no ledger write runs during it, so calls arriving meanwhile wait for it: its size still sets the tail.
    /// Measured when SQLite still ran it inside that COMMIT (every call waiting for the commit waited for the copy): at
    /// a fixed 500 req/s (quiet 2-core machine, <c>bench/Metering/p99-knobs.sh</c>, two rounds alternated) the metered p99 read 3.5 / 3.4 ms at 1,000 pages, 2.5 / 2.0 at 250, 2.7 / 2.3 at 500, 7.3 / 7.8
    /// at 4,000: the tail is the checkpoint's size. Under saturation the same 250 cost CPU (hot pages — the last
    /// leaf of every index, the lot, the lease — are copied four times as often: 92.4 / 90.4 → 100.4 / 97.8 µs per
    /// request at 32 connections), so a busy writer keeps <see cref="BusyCheckpointPages"/>. With this switch
    /// (2026-12-01, three rounds alternated): p99 at 500 req/s 2.3 / 3.4 / 2.7 ms against 3.6 / 3.5 / 3.9 at a fixed
    /// 1,000. At saturation the two builds' CPU per request differed by less than the VM's run-to-run noise (either
    /// way, depending on which ran first), and both wrote the same bytes per request (a fixed 250 writes 15 % more):
    /// busy batches are large, so checkpoints run at 1,000 pages there (bench/README, "the checkpoint size").
    /// </summary>
    public const int QuietCheckpointPages = 250;

    /// <summary>The WAL size at which a busy writer's commits checkpoint: SQLite's default.</summary>
    public const int BusyCheckpointPages = 1000;
    private long _committedOps;
    private long _commits;
    private long _checkpoints;

    /// <summary>Tests: runs before each checkpoint after a commit (e.g. to hold it).</summary>
    internal Func<Task>? BeforeCheckpoint { get; set; }

    /// <summary>Checkpoints run after a group's commit (for tests and diagnostics).</summary>
    internal long CheckpointsAfterCommit => Interlocked.Read(ref _checkpoints);

    /// <summary>Operations committed so far and the commits that carried them (for tests and diagnostics).</summary>
    public (long Operations, long Commits) Stats => (Interlocked.Read(ref _committedOps), Interlocked.Read(ref _commits));

    /// <summary>How long a group may stay open before the watchdog commits it.</summary>
    private static readonly TimeSpan MaxOpen = TimeSpan.FromMilliseconds(2);

    /// <summary>How long the watchdog thread waits without an open group before it ends (the next group starts it again).</summary>
    private static readonly TimeSpan WatchdogIdleExit = TimeSpan.FromSeconds(1);

    // The watchdog is this group's own thread, not a pool thread (see the class comment). It runs only while groups are
    // being opened: an idle or disposed group has none, so an undisposed group leaks no thread.
    private readonly object _watchdogLock = new();
    private Thread? _watchdog;
    private bool _disposed;
    // Stopwatch timestamp at which the open group began; 0 while none is open (written under _gate, read by the watchdog).
    private long _openedAt;

    /// <summary>Marks the group just opened (gate held) and makes sure the watchdog runs.</summary>
    private void WatchOpenGroup()
    {
        lock (_watchdogLock)
        {
            Volatile.Write(ref _openedAt, System.Diagnostics.Stopwatch.GetTimestamp());
            if (_watchdog is null)
            {
                _watchdog = new Thread(RunWatchdog) { IsBackground = true, Name = "ledger group-commit watchdog" };
                _watchdog.Start();
            }
            else
            {
                Monitor.Pulse(_watchdogLock);
            }
        }
    }

    /// <summary>True while the watchdog thread runs (for tests).</summary>
    internal bool WatchdogRunning
    {
        get
        {
            lock (_watchdogLock) return _watchdog is not null;
        }
    }

    /// <summary>Marks that no group is open (gate held).</summary>
    private void UnwatchOpenGroup() => Volatile.Write(ref _openedAt, 0);

    private void RunWatchdog()
    {
        while (true)
        {
            lock (_watchdogLock)
            {
                while (Volatile.Read(ref _openedAt) == 0 || _disposed)
                {
                    if (_disposed || !Monitor.Wait(_watchdogLock, WatchdogIdleExit) && Volatile.Read(ref _openedAt) == 0)
                    {
                        _watchdog = null;
                        return;
                    }
                }
            }
            Thread.Sleep(MaxOpen);
            var openedAt = Volatile.Read(ref _openedAt);
            if (openedAt != 0 && System.Diagnostics.Stopwatch.GetElapsedTime(openedAt) >= MaxOpen) CommitIfIdle();
        }
    }

    /// <summary>Watchdog: commits the open group unless an operation is running in it right now (then it is tried again soon).</summary>
    private void CommitIfIdle()
    {
        if (!_gate.Wait(0)) return;
        try
        {
            CommitOpenGroupAsync().GetAwaiter().GetResult();
        }
        catch
        {
            // CommitGroupAsync hands the failure to the group's members.
        }
        finally
        {
            ReleaseGate();
        }
    }

    /// <summary>
    /// Takes the gate and joins (or opens) the group: returns its connection with a savepoint begun for the caller.
    /// With <paramref name="commitNow"/> (the caller will leave with <c>commitNow</c>) a group it opens is not watched:
    /// nothing can join it while its opener runs, and the opener commits it as it leaves, so the watchdog would only
    /// wake for nothing (each wake is a context switch on a busy machine).
    /// </summary>
    public async Task<LedgerConnection> JoinAsync(CancellationToken cancellationToken, bool commitNow = false)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_connection is null)
            {
                var connection = await pool.RentAsync(CancellationToken.None);
                try
                {
                    // Takes the database write lock now (waiting on SQLITE_BUSY up to busy_timeout).
                    await connection.ExecuteAsync("BEGIN IMMEDIATE");
                }
                catch
                {
                    await pool.ReturnAsync(connection, healthy: false);
                    throw;
                }
                _connection = connection;
                _committed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _ops = 1;
                _withoutSavepoint = true;
                if (!commitNow) WatchOpenGroup();
                return _connection;
            }
            try
            {
                await _connection.ExecuteAsync("SAVEPOINT ledger_op");
            }
            catch (Exception ex)
            {
                await FailGroupAsync(ex);
                throw;
            }
            _ops++;
            _withoutSavepoint = false;
            return _connection;
        }
        catch
        {
            ReleaseGate();
            throw;
        }
    }

    /// <summary>
    /// Ends the caller's operation (the gate is held): keeps its savepoint or rolls it back, commits the group now
    /// when it is full or <paramref name="commitNow"/> is set, or queues its commit, and frees the gate. Returns the
    /// group's commit (faulted if it failed; already complete when it was committed here). A kept operation's
    /// <paramref name="checkpointPages"/> (0: none) sets the WAL size at which the group's commit checkpoints.
    /// </summary>
    public async Task<Task> LeaveAsync(bool keep, bool commitNow = false, int checkpointPages = 0)
    {
        var committed = _committed!.Task;
        if (keep && checkpointPages > 0) _checkpointPages = checkpointPages;
        try
        {
            if (_withoutSavepoint)
            {
                // The group's first operation: kept as it is, or undone with the whole (so far its own) transaction.
                _withoutSavepoint = false;
                if (!keep)
                {
                    await AbandonGroupAsync();
                    return committed;
                }
            }
            else if (keep)
            {
                await _connection!.ExecuteAsync("RELEASE ledger_op");
            }
            else
            {
                await _connection!.ExecuteAsync("ROLLBACK TO ledger_op");
                await _connection.ExecuteAsync("RELEASE ledger_op");
                _ops--;
            }
            if (_ops >= _maxOps || commitNow) await CommitGroupAsync();
            else QueueCommit();
        }
        catch (Exception ex)
        {
            // The transaction is unusable (e.g. SQLite rolled it back on an I/O error): every member learns it.
            await FailGroupAsync(ex);
        }
        finally
        {
            ReleaseGate();
        }
        return committed;
    }

    /// <summary>Runs a write on another connection alone: commits the open group first so it does not hold the database lock.</summary>
    public async Task RunAloneAsync(Func<Task> write)
    {
        await _gate.WaitAsync();
        try
        {
            await CommitOpenGroupAsync();
            await write();
        }
        finally
        {
            ReleaseGate();
        }
    }

    /// <summary>Commits what is open, stops grouping and ends the watchdog thread.</summary>
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            await CommitOpenGroupAsync();
        }
        finally
        {
            ReleaseGate();
        }
        // A checkpoint handed off by that commit holds the gate until it is done (and its connection back).
        await _gate.WaitAsync();
        _gate.Release();
        lock (_watchdogLock)
        {
            _disposed = true;
            Monitor.Pulse(_watchdogLock);
        }
    }

    private void QueueCommit()
    {
        if (Interlocked.Exchange(ref _commitQueued, 1) == 1) return;
        // The global queue is FIFO: work that is already ready runs first and may join the group before it commits.
        ThreadPool.UnsafeQueueUserWorkItem(static group => _ = group.CommitQueuedAsync(), this, preferLocal: false);
    }

    private async Task CommitQueuedAsync()
    {
        await _gate.WaitAsync();
        try
        {
            Volatile.Write(ref _commitQueued, 0);
            await CommitOpenGroupAsync();
        }
        catch
        {
            // CommitGroupAsync hands the failure to the group's members.
        }
        finally
        {
            ReleaseGate();
        }
    }

    /// <summary>Commits the group if one is open (gate held).</summary>
    private Task CommitOpenGroupAsync() => _connection is null ? Task.CompletedTask : CommitGroupAsync();

    /// <summary>
    /// Commits the open group (gate held) and tells its members; if the WAL has reached its limit, leaves the
    /// checkpoint to <see cref="ReleaseGate"/> (see <see cref="CheckpointAfterCommitAsync"/>).
    /// </summary>
    private async Task CommitGroupAsync()
    {
        var connection = _connection!;
        var committed = _committed!;
        var ops = _ops;
        var checkpointPages = _checkpointPages;
        _connection = null;
        _committed = null;
        _ops = 0;
        _checkpointPages = 0;
        UnwatchOpenGroup();
        // The WAL's frames after this commit, as the hook reported them (-1: no report).
        int walPages;
        try
        {
            // From the first commit on, this connection's commits do not checkpoint inside COMMIT (see CheckpointAfterCommitAsync).
            var hook = connection.WalHook()!;
            hook.Reset();
            await connection.ExecuteAsync("COMMIT");
            walPages = hook.Pages;
        }
        catch (Exception ex)
        {
            await RollBackQuietlyAsync(connection);
            await pool.ReturnAsync(connection, healthy: false);
            committed.TrySetException(ex);
            return;
        }
        Interlocked.Add(ref _committedOps, ops);
        Interlocked.Increment(ref _commits);
        // The group is durable: its members go on now, before any checkpoint.
        committed.TrySetResult();
        // A WAL that could not restart after the last checkpoint (a reader was in it) still holds the frames that
        // checkpoint copied: count only what came since, or every commit would checkpoint again (copy and fsyncs).
        // No report: checkpoint as at the limit, so the WAL cannot grow unchecked.
        if (walPages < _walAtCheckpoint) _walAtCheckpoint = 0;
        if (walPages >= 0 && walPages - _walAtCheckpoint < (checkpointPages > 0 ? checkpointPages : BusyCheckpointPages))
        {
            await pool.ReturnAsync(connection, healthy: true);
            return;
        }
        _walAtCheckpoint = Math.Max(walPages, 0);
        _checkpointDue = connection;
    }

    /// <summary>
    /// Frees the gate, or, when the commit just made left a checkpoint due, hands it to a task that runs the
    /// checkpoint and then frees it: whoever committed (often the commit's only member, the settlement batch writer)
    /// goes on at once, and no ledger write runs during the checkpoint (as when it ran inside COMMIT).
    /// </summary>
    private void ReleaseGate()
    {
        if (_checkpointDue is not { } connection)
        {
            _gate.Release();
            return;
        }
        _checkpointDue = null;
        _ = Task.Run(async () =>
        {
            try
            {
                await pool.ReturnAsync(connection, await CheckpointAfterCommitAsync(connection));
            }
            finally
            {
                _gate.Release();
            }
        });
    }

    /// <summary>
    /// The checkpoint SQLite would have run inside the COMMIT that took the WAL past its limit (PASSIVE, like SQLite's
    /// own), run after that commit's members were told it is durable: they do not wait for the copy and its two
    /// fsyncs (a lone call's COMMIT p90 0.7–1.0 ms against 0.2–0.3 without them on a disk whose fsync takes ½ ms; see
    /// bench/README). The gate is still held, so no ledger write runs meanwhile (as before, when it was inside COMMIT).
    /// Returns false if the connection failed.
    /// </summary>
    private async Task<bool> CheckpointAfterCommitAsync(LedgerConnection connection)
    {
        try
        {
            if (BeforeCheckpoint is { } before) await before();
            await connection.ExecuteAsync("PRAGMA wal_checkpoint(PASSIVE)");
            Interlocked.Increment(ref _checkpoints);
            return true;
        }
        catch (Exception)
        {
            // The commit stands; the next commit past the limit tries again on a fresh connection.
            return false;
        }
    }

    /// <summary>
    /// Rolls back the group its only operation opened and undid (gate held): nothing else is in it, so nobody waits
    /// for its commit. A connection that cannot roll back is discarded.
    /// </summary>
    private async Task AbandonGroupAsync()
    {
        var connection = _connection!;
        var committed = _committed!;
        _connection = null;
        _committed = null;
        _ops = 0;
        UnwatchOpenGroup();
        var healthy = true;
        try
        {
            await connection.ExecuteAsync("ROLLBACK");
        }
        catch (Exception)
        {
            // SQLite may have rolled back already (e.g. after an I/O error); the connection is not reused.
            healthy = false;
        }
        await pool.ReturnAsync(connection, healthy);
        committed.TrySetResult();
    }

    /// <summary>Abandons the open group (gate held): rolls it back and fails every member's commit with <paramref name="error"/>.</summary>
    private async Task FailGroupAsync(Exception error)
    {
        if (_connection is not { } connection) return;
        var committed = _committed!;
        _connection = null;
        _committed = null;
        _ops = 0;
        UnwatchOpenGroup();
        await RollBackQuietlyAsync(connection);
        await pool.ReturnAsync(connection, healthy: false);
        committed.TrySetException(error);
    }

    private static async Task RollBackQuietlyAsync(LedgerConnection connection)
    {
        try
        {
            await connection.ExecuteAsync("ROLLBACK");
        }
        catch (Exception)
        {
            // Nothing open (SQLite may have rolled back already), or the connection is broken; it is discarded anyway.
        }
    }
}
