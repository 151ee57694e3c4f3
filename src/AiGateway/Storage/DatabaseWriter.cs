using Microsoft.EntityFrameworkCore;

namespace AiGateway.Storage;

/// <summary>
/// The one way this process writes the gateway database. SQLite has one writer at a time, so every write of the
/// process takes its turn here instead of colliding on the database lock (Microsoft.Data.Sqlite sleeps 150 ms per busy
/// retry): the ledger's own transactions (<see cref="BeginAsync"/>) share group commits (see <see cref="SqliteWriteGroup"/>),
/// and every other write (<see cref="WriteAsync"/>: call records, video jobs, admin changes, history steps, key
/// touches) runs alone between them on its own DbContext. PostgreSQL has row locks and needs no turn: writes just run,
/// each ledger transaction on its own connection.
/// </summary>
public sealed class DatabaseWriter : IAsyncDisposable, IDisposable
{
    private readonly IDbContextFactory<LedgerDbContext> _factory;
    private readonly LedgerConnectionPool _connections;
    // SQLite only; null on PostgreSQL.
    private readonly SqliteWriteGroup? _group;
    // Set in an async flow whose ledger transactions commit as soon as each ends, with the WAL size at which their
    // commits checkpoint (see CommitEachAtOnce).
    private static readonly AsyncLocal<bool> CommitAtOnce = new();
    private static readonly AsyncLocal<int> CheckpointPages = new();
    private long _transactions;
    private readonly System.Runtime.CompilerServices.StrongBox<long> _roundTrips = new();
    private long _writes;

    /// <summary>Creates the writer over the database of <paramref name="factory"/>.</summary>
    /// <param name="factory">Creates contexts on the gateway database.</param>
    /// <param name="groupCommitMaxOperations">SQLite: the most ledger operations one group commit carries (<c>Ledger:SqliteGroupCommitMaxOperations</c>).</param>
    public DatabaseWriter(IDbContextFactory<LedgerDbContext> factory, int groupCommitMaxOperations)
    {
        _factory = factory;
        using (var probe = factory.CreateDbContext()) IsSqlite = probe.Database.IsSqlite();
        _connections = new LedgerConnectionPool(factory, maxIdle: Math.Max(2, Environment.ProcessorCount));
        if (IsSqlite)
        {
            _group = new SqliteWriteGroup(_connections, groupCommitMaxOperations);
        }
    }

    /// <summary>
    /// From here to the end of the calling async method, SQLite ledger transactions it begins commit as soon as each
    /// ends instead of waiting for other operations to join their group commit: for a caller that gathers its writes
    /// into one transaction itself (the settlement batch writer). Call it from an async method: the setting flows only
    /// into what that method awaits, and ends when it returns. No effect on PostgreSQL.
    /// </summary>
    internal static void CommitEachAtOnce() => CommitAtOnce.Value = true;

    /// <summary>
    /// As <see cref="CommitEachAtOnce()"/>, and SQLite's automatic checkpoint for these commits runs once the WAL holds
    /// <paramref name="walCheckpointPages"/> pages (<see cref="SqliteWriteGroup.QuietCheckpointPages"/> or
    /// <see cref="SqliteWriteGroup.BusyCheckpointPages"/>; see there why the writer of settlement batches switches).
    /// </summary>
    internal static void CommitEachAtOnce(int walCheckpointPages)
    {
        CommitAtOnce.Value = true;
        CheckpointPages.Value = walCheckpointPages;
    }


    /// <summary>True on SQLite, false on PostgreSQL.</summary>
    public bool IsSqlite { get; }

    /// <summary>
    /// Ledger database transactions begun so far (each SQLite group commit counts once, however many operations it carries).
    /// </summary>
    public long Transactions => Interlocked.Read(ref _transactions) + GroupCommitStats.Commits;

    /// <summary>
    /// PostgreSQL: round trips to the server the ledger's transactions made so far (each statement, batch of statements,
    /// commit and rollback counts one); 0 on SQLite, which runs in process.
    /// </summary>
    public long RoundTrips => Interlocked.Read(ref _roundTrips.Value);

    /// <summary>SQLite: true while the group commit's watchdog thread runs (for tests); false on PostgreSQL.</summary>
    internal bool GroupWatchdogRunning => _group?.WatchdogRunning ?? false;

    /// <summary>SQLite: checkpoints the group commit ran after a commit (see <see cref="SqliteWriteGroup"/>); 0 on PostgreSQL.</summary>
    internal long CheckpointsAfterCommit => _group?.CheckpointsAfterCommit ?? 0;

    /// <summary>Tests (SQLite): runs before each checkpoint after a commit, e.g. to hold it.</summary>
    internal Func<Task>? BeforeCheckpointForTests
    {
        set => _group!.BeforeCheckpoint = value;
    }

    /// <summary>SQLite group commit counters: operations committed and the commits that carried them (zero on PostgreSQL).</summary>
    public (long Operations, long Commits) GroupCommitStats => _group?.Stats ?? (0, 0);

    /// <summary>Writes run through <see cref="WriteAsync"/> so far (each counted when its turn came).</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Begins one ledger transaction: SQLite joins the group commit, PostgreSQL opens a READ COMMITTED transaction.</summary>
    internal Task<LedgerSession> BeginAsync(CancellationToken cancellationToken)
    {
        if (_group is not null) return LedgerSession.BeginAsync(_connections, _group, CommitAtOnce.Value, cancellationToken, CheckpointPages.Value);
        Interlocked.Increment(ref _transactions);
        return LedgerSession.BeginAsync(_connections, _roundTrips, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="work"/> as one ledger transaction (raw SQL on a <see cref="LedgerSession"/>, like the ledger's own
    /// operations: SQLite joins the group commit) and commits it; for writes that must be atomic with ledger rows or claim
    /// rows under row locks (e.g. the notification outbox and its dispatcher).
    /// </summary>
    internal async Task<T> InTransactionAsync<T>(Func<LedgerSession, Task<T>> work, CancellationToken cancellationToken = default)
    {
        await using var s = await BeginAsync(cancellationToken);
        var result = await work(s);
        await s.CommitAsync();
        return result;
    }

    /// <summary>
    /// Runs <paramref name="write"/> on a fresh DbContext in this process's write turn (SQLite: after the open group
    /// commit is committed, with no ledger operation running; PostgreSQL: at once). The context is disposed afterwards.
    /// </summary>
    public Task WriteAsync(Func<LedgerDbContext, Task> write, CancellationToken cancellationToken = default) =>
        WriteAsync<bool>(async db =>
        {
            await write(db);
            return true;
        }, cancellationToken);

    /// <summary>Runs <paramref name="write"/> in the write turn like <see cref="WriteAsync(Func{LedgerDbContext, Task}, CancellationToken)"/> and returns its result.</summary>
    public async Task<T> WriteAsync<T>(Func<LedgerDbContext, Task<T>> write, CancellationToken cancellationToken = default)
    {
        if (_group is null) return await RunAsync(write, cancellationToken);
        T result = default!;
        await _group.RunAloneAsync(async () => result = await RunAsync(write, cancellationToken));
        return result;
    }

    private async Task<T> RunAsync<T>(Func<LedgerDbContext, Task<T>> write, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _writes);
        await using var db = await _factory.CreateDbContextAsync(cancellationToken);
        return await write(db);
    }

    /// <summary>Commits what a group holds, ends its watchdog and closes the pooled connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_group is not null) await _group.DisposeAsync();
        await _connections.DisposeAsync();
    }

    /// <summary>Like <see cref="DisposeAsync"/> (SQLite closes synchronously anyway).</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
