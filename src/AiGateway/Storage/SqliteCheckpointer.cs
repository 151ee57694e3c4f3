namespace AiGateway.Storage;

/// <summary>
/// SQLite: copies the WAL into the database file on a connection of its own, off every commit's path. SQLite's
/// automatic checkpoint runs inside the COMMIT that crosses <c>wal_autocheckpoint</c> pages (1,000 by default), and in
/// WAL mode with <c>synchronous=NORMAL</c> the checkpoint is where the fsyncs happen (the WAL before copying, the database
/// after): measured (issue #13, <c>experiments/handoff-timers.patch</c>), one lone metered call in ≈ 100 paid 4–8 ms for
/// it in its settlement's COMMIT — the whole p99 of a lone call. The write connections' automatic checkpoint is raised
/// to a safety net (<see cref="SqlitePragmaInterceptor.AutoCheckpointPages"/>) and this runs a PASSIVE checkpoint on a
/// thread-pool thread once about <see cref="TargetPages"/> pages have been committed: PASSIVE takes no write lock, so
/// commits go on while it copies and syncs. Durability is unchanged (a commit is durable once in the WAL, either way);
/// the periodic truncating checkpoint (<c>History:SqliteCheckpointInterval</c>) still bounds the file.
/// </summary>
internal sealed class SqliteCheckpointer(LedgerConnectionPool pool) : IAsyncDisposable
{
    /// <summary>Pages committed between two checkpoints (SQLite's own default interval).</summary>
    public const int TargetPages = 1000;

    private int _running;
    private int _commitsSince;
    // Commits after which the next checkpoint runs: TargetPages ÷ pages per commit, as the last checkpoints measured.
    private int _threshold = 32;
    private long _lastLogFrames;
    private long _checkpoints;
    private long _framesCopied;
    // Its own connection, kept while the writer lives: a pooled one would go back to the write group with a page cache
    // the group's writes had made stale (measured: 2–3.7 instead of 1.4–1.5 read syscalls per metered request).
    private LedgerConnection? _connection;
    private bool _disposed;

    /// <summary>Checkpoints run so far and the WAL frames they copied (for tests and diagnostics).</summary>
    public (long Checkpoints, long FramesCopied) Stats => (Interlocked.Read(ref _checkpoints), Interlocked.Read(ref _framesCopied));

    /// <summary>Raised after each checkpoint (tests wait for it instead of sleeping).</summary>
    public event Action? Checkpointed;

    /// <summary>A group committed: starts a checkpoint in the background once enough pages are in the WAL.</summary>
    public void Committed()
    {
        if (Interlocked.Increment(ref _commitsSince) < Volatile.Read(ref _threshold)) return;
        if (Interlocked.Exchange(ref _running, 1) == 1) return;
        // Not a dedicated thread: a checkpoint is a few milliseconds of mostly fsync every ≈ 1,000 pages written.
        ThreadPool.UnsafeQueueUserWorkItem(static checkpointer => checkpointer.Run(), this, preferLocal: false);
    }

    private void Run()
    {
        try
        {
            var commits = Interlocked.Exchange(ref _commitsSince, 0);
            var (logFrames, copied) = CheckpointPassive();
            // (-1, -1) when the database is not in WAL mode (e.g. in memory): nothing to copy.
            logFrames = Math.Max(0, logFrames);
            copied = Math.Max(0, copied);
            // Frames added since the last checkpoint (the WAL restarts from its start after a complete one).
            var added = logFrames >= _lastLogFrames ? logFrames - _lastLogFrames : logFrames;
            _lastLogFrames = logFrames;
            if (commits > 0 && added > 0)
            {
                var perCommit = Math.Max(1, added / commits);
                Volatile.Write(ref _threshold, (int)Math.Clamp(TargetPages / perCommit, 1, TargetPages));
            }
            Interlocked.Increment(ref _checkpoints);
            Interlocked.Add(ref _framesCopied, copied);
            Checkpointed?.Invoke();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A thread-pool work item must not throw. A closed writer, a locked or broken database: the next commits try
            // again, SQLite's own checkpoint is the net.
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>One PASSIVE checkpoint: frames in the WAL and frames copied into the database.</summary>
    private (long LogFrames, long Copied) CheckpointPassive()
    {
        if (Volatile.Read(ref _disposed)) return (0, 0);
        // Opened through the pool's factory (the connection set-up applies), never returned to it.
        var connection = _connection ??= pool.RentAsync(CancellationToken.None).GetAwaiter().GetResult();
        try
        {
            using var command = connection.Connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
            using var reader = command.ExecuteReader();
            return reader.Read() ? (reader.GetInt64(1), reader.GetInt64(2)) : (0L, 0L);
        }
        catch
        {
            // A broken connection is replaced at the next checkpoint.
            _connection = null;
            connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>Stops checkpointing and closes the checkpointer's connection (after a checkpoint running now has ended).</summary>
    public async ValueTask DisposeAsync()
    {
        Volatile.Write(ref _disposed, true);
        // A checkpoint in progress finishes in milliseconds; taking the running flag keeps a new one from starting.
        while (Interlocked.Exchange(ref _running, 1) == 1) await Task.Delay(1);
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync();
        }
    }
}
