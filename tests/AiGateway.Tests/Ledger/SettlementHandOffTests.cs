using AiGateway.Ledger;
using AiGateway.Metering;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// How a leased call's settlement reaches the database: on a quiet gateway the settling call writes its own batch (no
/// hand-off to the batch writer's thread), under load the batch writer gathers the calls; either way the charge and its
/// record are committed when the settle returns, each call is charged exactly once, and the books balance.
/// </summary>
public abstract class SettlementHandOffTests<TFixture>(TFixture db) : IClassFixture<TFixture> where TFixture : LedgerDatabaseFixture
{
    private readonly string _logs = Path.Combine(Path.GetTempPath(), "aigw-handoff-logs-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task AQuietGatewaysSettlement_IsWrittenByItsCall_AndCommittedWhenTheSettleReturns()
    {
        var account = await db.CreateAccountAsync();
        var (leases, ledger) = await StartAsync("quiet");
        await ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(1000), null, null, "test", "g1");

        for (var i = 0; i < 5; i++)
        {
            var requestId = $"quiet-{account}-{i}";
            var hold = await AdmitAsync(leases, account, requestId);
            var (result, stored) = await leases.SettleAsync(hold, requestId, Credits.FromDecimal(2), scope: null,
                Record(account, requestId, CallSettler.Sources.Provider));

            // Read at once on another connection: what the caller was told is committed, charge and record alike.
            Assert.Equal((SettleStatus.Settled, true), (result.Status, stored));
            var (charged, records) = await CommittedAsync(requestId);
            Assert.True(charged == 2_000_000 && records == 1,
                $"when the settle of {requestId} returned, another connection saw a charge of {charged} and {records} records: answered before its commit");
        }

        Assert.True(leases.WrittenByTheirCall == 5,
            $"{leases.WrittenByTheirCall} of 5 sequential settlements on a quiet gateway were written by their own call (the rest went through the batch writer)");
        await leases.StopAsync(CancellationToken.None);
        (await LedgerSnapshot.ReadAsync(db, account)).AssertBalanced();
    }

    [Fact]
    public async Task ParallelSettlements_ByTheirCallsAndByTheBatchWriter_AreEachChargedOnce()
    {
        var account = await db.CreateAccountAsync();
        var (leases, ledger) = await StartAsync("parallel");
        await ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(1000), null, null, "test", "g1");

        // Rounds of parallel calls, each admitted and settled at once: a call that finds few others in flight writes its
        // own batch, the others queue for the batch writer.
        for (var round = 0; round < 4; round++)
        {
            var ids = Enumerable.Range(0, 25).Select(i => $"par-{account}-{round}-{i}").ToList();
            var results = await Task.WhenAll(ids.Select(id => Task.Run(async () =>
                await leases.SettleAsync(await AdmitAsync(leases, account, id), id, Credits.FromDecimal(1), scope: null,
                    Record(account, id, CallSettler.Sources.Provider)))));
            Assert.All(results, r => Assert.Equal((SettleStatus.Settled, true), (r.Result.Status, r.RecordStored)));
            foreach (var id in ids)
            {
                var (charged, records) = await CommittedAsync(id);
                Assert.True(charged == 1_000_000 && records == 1, $"{id}: charged {charged}, {records} records");
            }
        }

        await leases.StopAsync(CancellationToken.None);
        await using var context = new LedgerDbContext(db.Options);
        Assert.Equal(100, await context.CreditCharges.CountAsync(c => c.AccountId == account));
        Assert.Equal(100_000_000L, (await context.CreditCharges.Where(c => c.AccountId == account).Select(c => c.Amount).ToListAsync()).Sum());
        (await LedgerSnapshot.ReadAsync(db, account)).AssertBalanced();
    }

    private async Task<(long Charged, int Records)> CommittedAsync(string requestId)
    {
        await using var context = new LedgerDbContext(db.Options);
        var charged = (await context.CreditCharges.Where(c => c.RequestId == requestId).Select(c => c.Amount).ToListAsync()).Sum();
        var records = await context.CallRecords.CountAsync(r => r.RequestId == requestId);
        return (charged, records);
    }

    protected static async Task<CreditLeases.LeasedHold> AdmitAsync(CreditLeases leases, Guid account, string requestId)
    {
        var interrupted = Record(account, requestId, CallSettler.Sources.Interrupted);
        interrupted.Error = CallRecorder.InterruptedError;
        var held = await leases.TryReserveAsync(account, Credits.FromDecimal(5), CancellationToken.None, interrupted);
        Assert.NotNull(held);
        return held.Value.Hold;
    }

    protected static CallRecord Record(Guid account, string requestId, string source) => new()
    {
        RequestId = requestId, AccountId = account, KeyId = Guid.Empty, Route = "openai", Provider = "openai", Model = "gpt-4o",
        Operation = "OpenAiChatCompletions", UsageSource = source, EstimateMicro = 123, StartedAt = DateTimeOffset.UnixEpoch,
    };

    private async Task<(CreditLeases Leases, CreditLedger Ledger)> StartAsync(string id)
    {
        var settings = new LedgerOptions { Leases = true, LeaseRefreshInterval = TimeSpan.FromHours(1), LeaseMinFreeCredits = 4 };
        var ledger = db.CreateLedger(TimeProvider.System, o =>
        {
            o.Leases = true;
            o.LeaseRefreshInterval = TimeSpan.FromHours(1);
            o.LeaseMinFreeCredits = 4;
        });
        var leases = new CreditLeases(ledger, Microsoft.Extensions.Options.Options.Create(settings), TimeProvider.System,
            NullLogger<CreditLeases>.Instance, id + Guid.NewGuid().ToString("N"), Path.Combine(_logs, id + ".jsonl"));
        await leases.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!leases.Active && DateTime.UtcNow < deadline) await Task.Delay(5);
        Assert.True(leases.Active);
        return (leases, ledger);
    }
}

/// <summary>Settlement hand-off on SQLite, with a COMMIT held back by the test.</summary>
public sealed class SqliteSettlementHandOffTests(SqliteLedgerFixture db) : SettlementHandOffTests<SqliteLedgerFixture>(db)
{
    private readonly SqliteLedgerFixture _db = db;
    private static readonly LedgerOptions Settings = new() { Leases = true, LeaseRefreshInterval = TimeSpan.FromHours(1), LeaseMinFreeCredits = 4 };

    /// <summary>A leased ledger on <paramref name="writer"/> (a test's own write path), started, with an account holding <paramref name="credits"/>.</summary>
    private async Task<(CreditLedger Ledger, CreditLeases Leases, Guid Account)> StartOnAsync(DatabaseWriter writer, string name, decimal credits)
    {
        var ledger = new CreditLedger(writer, _db.Factory, Microsoft.Extensions.Options.Options.Create(Settings),
            new PlanCatalog(new Monitor<PlansOptions>(LedgerDatabaseFixture.TestPlans())), TimeProvider.System);
        var leases = new CreditLeases(ledger, Microsoft.Extensions.Options.Options.Create(Settings), TimeProvider.System,
            NullLogger<CreditLeases>.Instance, name + "-" + Guid.NewGuid().ToString("N"), Path.Combine(Path.GetTempPath(), $"aigw-{name}-{Guid.NewGuid():N}.jsonl"));
        await leases.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!leases.Active && DateTime.UtcNow < deadline) await Task.Delay(5);
        var account = await _db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(credits), null, null, "test", "g1");
        return (ledger, leases, account);
    }

    [Fact]
    public async Task ASettle_NeverReturnsBeforeItsCommit_WhenTheCommitIsHeldBack()
    {
        // Every ledger connection gets a commit hook that, once armed, holds the next COMMIT until the test lets it go:
        // a settlement answered before its commit (e.g. a commit queued but not awaited) returns while it is held.
        var stall = new CommitStall();
        var options = new DbContextOptionsBuilder<LedgerDbContext>(_db.Options).AddInterceptors(stall).Options;
        await using var writer = new DatabaseWriter(new Factory(options), Settings.SqliteGroupCommitMaxOperations);
        var (ledger, leases, account) = await StartOnAsync(writer, "stall", 1000);

        for (var i = 0; i < 3; i++)
        {
            var requestId = $"stall-{account}-{i}";
            var held = await leases.TryReserveAsync(account, Credits.FromDecimal(5), CancellationToken.None);
            Assert.NotNull(held);
            var reached = stall.Arm();
            var settle = Task.Run(() => leases.SettleAsync(held.Value.Hold, requestId, Credits.FromDecimal(2), scope: null,
                Record(account, requestId, CallSettler.Sources.Provider)));
            await reached;
            // The COMMIT is held now: nothing the settle could answer is durable yet. (The delay only gives a wrong
            // answer time to show; a right one can never complete in it.)
            var answeredEarly = await Task.WhenAny(settle, Task.Delay(300)) == settle;
            stall.Release();
            Assert.False(answeredEarly, $"the settle of {requestId} returned while its COMMIT was held: answered before its commit");
            var (result, stored) = await settle;
            Assert.Equal((SettleStatus.Settled, true), (result.Status, stored));
        }
        await leases.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ASettle_IsAnsweredBeforeTheCheckpointItsCommitTriggers_AndNoLedgerWriteRunsDuringIt()
    {
        // SQLite ran its automatic checkpoint (a copy of the WAL and two fsyncs) inside the COMMIT that took the WAL past
        // its limit, and that commit's calls waited for it. Now the checkpoint runs after they are told the commit is
        // durable, still before the next ledger write. The checkpoint is held here: the call whose commit triggered it
        // must have its answer, and the next call's settlement must wait until it ends.
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var writer = new DatabaseWriter(_db.Factory, Settings.SqliteGroupCommitMaxOperations);
        var (_, leases, account) = await StartOnAsync(writer, "ckpt", 100_000);

        // From here on, checkpoints after a commit are held until released.
        var checkpointsBefore = writer.CheckpointsAfterCommit;
        writer.BeforeCheckpointForTests = async () =>
        {
            reached.TrySetResult();
            await release.Task;
        };
        // Quiet settlements, one at a time, until a commit leaves a checkpoint due (250 WAL pages: a few dozen calls).
        // The checkpoint is then held. Every settlement committed by then must have its answer; the one in flight may
        // wait only if its settlement is not committed yet (it waits for the end of the checkpoint, as no ledger write
        // may run during it). A settle committed but unanswered means its call waited for the checkpoint.
        for (var i = 0; i < 2_000 && !reached.Task.IsCompleted; i++)
        {
            var requestId = $"ckpt-{account}-{i}";
            var settle = Task.Run(async () => await leases.SettleAsync(await AdmitAsync(leases, account, requestId), requestId,
                Credits.FromDecimal(1), scope: null, Record(account, requestId, CallSettler.Sources.Provider)));
            if (await Task.WhenAny(settle, reached.Task) != settle)
            {
                // The checkpoint is held. (The delay only gives a wrong answer time to show.)
                var answered = await Task.WhenAny(settle, Task.Delay(500)) == settle;
                bool committed;
                await using (var read = new LedgerDbContext(_db.Options))
                {
                    committed = await read.CallRecords.AnyAsync(r => r.RequestId == requestId);
                }
                var duringCheckpoint = writer.CheckpointsAfterCommit;
                release.SetResult();
                Assert.Equal(0, duringCheckpoint - checkpointsBefore);
                Assert.False(committed && !answered, $"{requestId} was committed but not answered while the checkpoint after its commit ran");
                Assert.False(answered && !committed, $"{requestId} was answered but its settlement is not in the database");
            }
            var (result, stored) = await settle;
            Assert.Equal((SettleStatus.Settled, true), (result.Status, stored));
        }
        Assert.True(reached.Task.IsCompleted, "no checkpoint ran after a commit in 2,000 quiet settlements");
        Assert.True(writer.CheckpointsAfterCommit >= 1);
        await leases.StopAsync(CancellationToken.None);
        (await LedgerSnapshot.ReadAsync(_db, account)).AssertBalanced();
    }

    /// <summary>Holds the next COMMIT on any ledger connection (SQLite's commit hook) between <see cref="Arm"/> and <see cref="Release"/>.</summary>
    private sealed class CommitStall : Microsoft.EntityFrameworkCore.Diagnostics.DbConnectionInterceptor
    {
        private volatile TaskCompletionSource? _reached;
        private readonly SemaphoreSlim _release = new(0);

        public Task Arm()
        {
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _reached = reached;
            return reached.Task;
        }

        public void Release() => _release.Release();

        public override void ConnectionOpened(System.Data.Common.DbConnection connection, Microsoft.EntityFrameworkCore.Diagnostics.ConnectionEndEventData eventData) =>
            Hook(connection);

        public override Task ConnectionOpenedAsync(System.Data.Common.DbConnection connection, Microsoft.EntityFrameworkCore.Diagnostics.ConnectionEndEventData eventData,
            CancellationToken cancellationToken = default)
        {
            Hook(connection);
            return Task.CompletedTask;
        }

        private void Hook(System.Data.Common.DbConnection connection) =>
            SQLitePCL.raw.sqlite3_commit_hook(((Microsoft.Data.Sqlite.SqliteConnection)connection).Handle, _ =>
            {
                if (Interlocked.Exchange(ref _reached, null) is { } reached)
                {
                    reached.TrySetResult();
                    _release.Wait();
                }
                return 0;
            }, null);
    }

    [Fact]
    public async Task AQuietGatewaysSettlements_CheckpointBeforeTheWalGrowsLarge()
    {
        // The checkpoint after the commit that takes the WAL past its limit holds up the calls that arrive during it: a
        // quiet gateway's batches checkpoint at SqliteWriteGroup.QuietCheckpointPages, not at 1,000 pages (≈ 4 MB, the
        // p99 at 500 req/s). A fresh database: a WAL file keeps the largest size it ever reached.
        var fresh = new SqliteLedgerFixture();
        await fresh.InitializeAsync();
        try
        {
            var ledger = fresh.CreateLedger(TimeProvider.System, o =>
            {
                o.Leases = true;
                o.LeaseRefreshInterval = TimeSpan.FromHours(1);
                o.LeaseMinFreeCredits = 4;
            });
            var settings = new LedgerOptions { Leases = true, LeaseRefreshInterval = TimeSpan.FromHours(1), LeaseMinFreeCredits = 4 };
            var leases = new CreditLeases(ledger, Microsoft.Extensions.Options.Options.Create(settings), TimeProvider.System,
                NullLogger<CreditLeases>.Instance, "wal-" + Guid.NewGuid().ToString("N"), Path.Combine(Path.GetTempPath(), $"aigw-wal-{Guid.NewGuid():N}.jsonl"));
            await leases.StartAsync(CancellationToken.None);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!leases.Active && DateTime.UtcNow < deadline) await Task.Delay(5);
            var account = await fresh.CreateAccountAsync();
            await ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(100_000), null, null, "test", "g1");
            await using (var context = new LedgerDbContext(fresh.Options))
            {
                var wal = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(context.Database.GetConnectionString()).DataSource + "-wal";
                // 400 sequential calls, each its own batch with its record: several thousand WAL pages in all.
                for (var i = 0; i < 400; i++)
                {
                    var requestId = $"wal-{account}-{i}";
                    var (result, stored) = await leases.SettleAsync(await AdmitAsync(leases, account, requestId), requestId, Credits.FromDecimal(1),
                        scope: null, Record(account, requestId, CallSettler.Sources.Provider));
                    Assert.Equal((SettleStatus.Settled, true), (result.Status, stored));
                }
                var pages = new FileInfo(wal).Length / (4096 + 24);
                Assert.True(pages is > 0 and < 2 * SqliteWriteGroup.QuietCheckpointPages,
                    $"the WAL grew to {pages} pages over 400 quiet settlements: checkpoints ran at a larger WAL than {SqliteWriteGroup.QuietCheckpointPages} pages");
            }
            Assert.Equal(400, leases.WrittenByTheirCall);
            await leases.StopAsync(CancellationToken.None);
            (await LedgerSnapshot.ReadAsync(fresh, account)).AssertBalanced();
        }
        finally
        {
            await fresh.DisposeAsync();
        }
    }

    private sealed class Factory(DbContextOptions<LedgerDbContext> options) : IDbContextFactory<LedgerDbContext>
    {
        public LedgerDbContext CreateDbContext() => new(options);
    }

    private sealed class Monitor<T>(T value) : Microsoft.Extensions.Options.IOptionsMonitor<T>
    {
        public T CurrentValue => value;
        public T Get(string? name) => value;
        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}

/// <summary>Settlement hand-off on PostgreSQL.</summary>
public sealed class PostgresSettlementHandOffTests(PostgresLedgerFixture db) : SettlementHandOffTests<PostgresLedgerFixture>(db);
