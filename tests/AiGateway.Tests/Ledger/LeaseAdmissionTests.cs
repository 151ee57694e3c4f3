using AiGateway.Ledger;
using AiGateway.Metering;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// Admission markers of leased calls: a call admitted against a credit lease whose instance dies before the call is
/// recorded ends up as one <c>interrupted</c> record (nothing charged, or the charge its settlement wrote), resolved by
/// the sweep on another instance once the marker is not renewed for <c>Ledger:LeaseTtl</c>, or at once by the same
/// instance's restart; recorded calls keep their records; a live instance's real record replaces an interrupted one.
/// A marker row rides on the instance's next batch or renewal; before that, the instance's local admission log is what
/// a restart resolves.
/// </summary>
public abstract class LeaseAdmissionTests<TFixture>(TFixture db) : IClassFixture<TFixture> where TFixture : LedgerDatabaseFixture
{
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(30);
    // Each instance's local admission log, by instance id: a restart with the same id reads what it logged before.
    private readonly string _logs = Path.Combine(Path.GetTempPath(), "aigw-admission-logs-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task CallsOfADeadInstance_WithoutRecords_AreRecordedInterruptedOnce_RecordedCallsKeepTheirRecords()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 5, 1, 9, 0, 0, TimeSpan.Zero));
        var account = await db.CreateAccountAsync();
        var (dying, dyingLedger) = await StartAsync("dying", clock);
        var (sweeper, sweeperLedger) = await StartAsync("sweeper", clock);
        await dyingLedger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(1000), null, null, "test", "g1");

        // In flight at the crash; charged (settlement written) but not recorded; settled and recorded.
        var inFlight = await AdmitAsync(dying, account, "req-inflight");
        var charged = await AdmitAsync(dying, account, "req-charged");
        var recorded = await AdmitAsync(dying, account, "req-recorded");
        var settled = await dying.SettleAsync(charged, "req-charged", Credits.FromDecimal(2), scope: null);
        Assert.Equal(SettleStatus.Settled, settled.Status);
        await dying.SettleAsync(recorded, "req-recorded", Credits.FromDecimal(1), scope: null);
        await dying.WriteRecordAsync(Record(account, "req-recorded", CallSettler.Sources.Provider, 1_000_000));
        dying.Recorded(recorded);
        Assert.NotNull(inFlight);
        await dying.StopAsync(CancellationToken.None); // kill -9: nothing more is written by it

        // Not yet expired: the instance may be alive, nothing is resolved.
        await sweeperLedger.ResolveAdmissionsAsync();
        Assert.Empty(await RecordsAsync(account, "req-inflight", "req-charged"));

        clock.Advance(LeaseTtl + TimeSpan.FromSeconds(1));
        await sweeperLedger.SweepAsync();
        await sweeperLedger.SweepAsync();
        var records = await RecordsAsync(account, "req-inflight", "req-charged", "req-recorded");
        Assert.Equal(3, records.Count);
        var interrupted = records.Single(r => r.RequestId == "req-inflight");
        Assert.Equal((CallSettler.Sources.Interrupted, 0L, 0, "gpt-4o", 123L),
            (interrupted.UsageSource, interrupted.ChargedMicro, interrupted.StatusCode, interrupted.Model, interrupted.EstimateMicro));
        var chargedRecord = records.Single(r => r.RequestId == "req-charged");
        Assert.Equal((CallSettler.Sources.Interrupted, 2_000_000L, CreditLedger.InterruptedAfterChargeError),
            (chargedRecord.UsageSource, chargedRecord.ChargedMicro, chargedRecord.Error));
        Assert.Equal(CallSettler.Sources.Provider, records.Single(r => r.RequestId == "req-recorded").UsageSource);
        Assert.Equal(0, await MarkersAsync("dying"));
        // Nothing charged for the interrupted call, the charged one once; the dead lease no longer counts.
        var balance = (await sweeperLedger.GetBalanceAsync(account))!;
        Assert.Equal((Credits.FromDecimal(997), Credits.Zero), (balance.Available, balance.Held));
        await sweeper.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task TheSameInstanceRestarting_RecordsItsCutCallsAtOnce_AndRecordedCallsLeaveNoMarker()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 5, 2, 9, 0, 0, TimeSpan.Zero));
        var account = await db.CreateAccountAsync();
        var (first, ledger) = await StartAsync("restarting", clock);
        await ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(1000), null, null, "test", "g2");
        var done = await AdmitAsync(first, account, "req-r-done");
        await first.SettleAsync(done, "req-r-done", Credits.FromDecimal(1), scope: null);
        await first.WriteRecordAsync(Record(account, "req-r-done", CallSettler.Sources.Provider, 1_000_000));
        first.Recorded(done);
        // The recorded call's marker goes with the next refresh.
        await first.RefreshAsync(CancellationToken.None);
        Assert.Equal(0, await MarkersAsync("restarting"));
        await AdmitAsync(first, account, "req-r-cut");
        // Its marker row rides on the next renewal (no batch came).
        await first.RefreshAsync(CancellationToken.None);
        Assert.Equal(1, await MarkersAsync("restarting"));
        await first.StopAsync(CancellationToken.None);

        // Same identity, same clock (no TTL passed): the restart resolves its own markers before admitting.
        var (second, _) = await StartAsync("restarting", clock);
        var records = await RecordsAsync(account, "req-r-cut", "req-r-done");
        var cut = records.SingleOrDefault(r => r.RequestId == "req-r-cut");
        Assert.True(cut is not null, "the call cut by the crash has no record after the restart");
        Assert.Equal((CallSettler.Sources.Interrupted, 0L), (cut.UsageSource, cut.ChargedMicro));
        Assert.Equal(CallSettler.Sources.Provider, records.Single(r => r.RequestId == "req-r-done").UsageSource);
        Assert.Equal(0, await MarkersAsync("restarting"));
        await second.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ALiveInstanceThatCouldNotRenew_ItsRealRecordReplacesTheInterruptedOne()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 5, 3, 9, 0, 0, TimeSpan.Zero));
        var account = await db.CreateAccountAsync();
        var (slow, slowLedger) = await StartAsync("slow", clock);
        var (sweeper, sweeperLedger) = await StartAsync("sweeper-2", clock);
        await slowLedger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(1000), null, null, "test", "g3");
        var hold = await AdmitAsync(slow, account, "req-late");
        await slow.RefreshAsync(CancellationToken.None); // its marker row rides on the renewal
        clock.Advance(LeaseTtl + TimeSpan.FromSeconds(1));
        await sweeperLedger.ResolveAdmissionsAsync();
        Assert.Equal(CallSettler.Sources.Interrupted, (await RecordsAsync(account, "req-late")).Single().UsageSource);

        // The call did end on the live instance: its record is the call's record.
        await slow.SettleAsync(hold, "req-late", Credits.FromDecimal(3), scope: null);
        await slow.WriteRecordAsync(Record(account, "req-late", CallSettler.Sources.Provider, 3_000_000));
        slow.Recorded(hold);
        var record = (await RecordsAsync(account, "req-late")).Single();
        Assert.Equal((CallSettler.Sources.Provider, 3_000_000L), (record.UsageSource, record.ChargedMicro));
        await slow.StopAsync(CancellationToken.None);
        await sweeper.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task KilledBeforeAnyMarkerWasWritten_TheRestartRecordsItsCallsFromTheLocalAdmissionLog_QuickCallsNeedNoMarker()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 5, 4, 9, 0, 0, TimeSpan.Zero));
        var account = await db.CreateAccountAsync();
        var (first, ledger) = await StartAsync("log-only", clock);
        await ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(1000), null, null, "test", "g4");
        // One call ends (settled and recorded), then two are admitted (and forwarded) with no commit after them: no
        // batch or renewal wrote their marker rows before the kill.
        var done = await AdmitAsync(first, account, "req-l-done");
        await first.SettleAsync(done, "req-l-done", Credits.FromDecimal(1), scope: null);
        await first.WriteRecordAsync(Record(account, "req-l-done", CallSettler.Sources.Provider, 1_000_000));
        first.Recorded(done);
        // Settled and recorded within two batches: its marker row was never needed, so never written.
        Assert.False(await MarkedAsync("req-l-done"), "a marker row was written for a call recorded by the second batch after its admission");
        var transactions = ledger.Transactions;
        await AdmitAsync(first, account, "req-l-cut-1");
        await AdmitAsync(first, account, "req-l-cut-2");
        Assert.True(transactions == ledger.Transactions, $"admitting two calls from the lease took {ledger.Transactions - transactions} ledger transactions, expected none");
        await first.StopAsync(CancellationToken.None);
        Assert.Empty(await RecordsAsync(account, "req-l-cut-1", "req-l-cut-2"));
        Assert.False(await MarkedAsync("req-l-cut-1") || await MarkedAsync("req-l-cut-2"), "a marker row was written for a call admitted after the last commit");

        var (second, _) = await StartAsync("log-only", clock);
        var records = await RecordsAsync(account, "req-l-cut-1", "req-l-cut-2", "req-l-done");
        Assert.True(records.Count == 3, $"after the restart {records.Count} of 3 calls have records: the local admission log was not written or not resolved");
        Assert.All(records.Where(r => r.RequestId != "req-l-done"),
            r => Assert.Equal((CallSettler.Sources.Interrupted, 0L, 123L), (r.UsageSource, r.ChargedMicro, r.EstimateMicro)));
        Assert.Equal((CallSettler.Sources.Provider, 1_000_000L), records.Where(r => r.RequestId == "req-l-done").Select(r => (r.UsageSource, r.ChargedMicro)).Single());
        Assert.Equal(0, await MarkersAsync("log-only"));
        await second.StopAsync(CancellationToken.None);
        // Resolved once: a second restart finds nothing left to record.
        Assert.False(File.Exists(Path.Combine(_logs, "log-only.jsonl")) && new FileInfo(Path.Combine(_logs, "log-only.jsonl")).Length > 0,
            "the admission log still lists calls after the restart stored them");
    }

    [Fact]
    public async Task AGracefulStop_ReturnsTheUnusedLease_KeepingWhatCallsInFlightHold()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 5, 5, 9, 0, 0, TimeSpan.Zero));
        var account = await db.CreateAccountAsync();
        var (stopping, ledger) = await StartAsync("stopping", clock);
        var (observer, observerLedger) = await StartAsync("observer", clock);
        await ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(1000), null, null, "test", "g5");
        var done = await AdmitAsync(stopping, account, "req-s-done");
        await stopping.SettleAsync(done, "req-s-done", Credits.FromDecimal(1), scope: null);
        await AdmitAsync(stopping, account, "req-s-open"); // still in flight at the stop: 5 credits held
        var before = (await observerLedger.GetBalanceAsync(account))!;
        Assert.True(before.Held > Credits.FromDecimal(5), $"the lease should hold more than the call in flight before the stop, held {before.Held}");

        await stopping.StopAsync(CancellationToken.None);

        // No TTL has passed: what the lease held beyond the open call is spendable elsewhere at once.
        var after = (await observerLedger.GetBalanceAsync(account))!;
        Assert.Equal((Credits.FromDecimal(994), Credits.FromDecimal(5)), (after.Available, after.Held));
        await observer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ARecordRidesWithItsSettlement_ChargeSetFromTheBatch_NoMarker_AndARecordThatFailsNeverSinksTheCharge()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 5, 6, 9, 0, 0, TimeSpan.Zero));
        var account = await db.CreateAccountAsync();
        var (leases, ledger) = await StartAsync("one-batch", clock);
        await ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(1000), null, null, "test", "g6");

        // The record goes in the settlement's transaction: stored at that commit with the charge the batch made.
        var good = await AdmitAsync(leases, account, "req-o-good");
        var transactions = ledger.Transactions;
        var (settled, stored) = await leases.SettleAsync(good, "req-o-good", Credits.FromDecimal(2), scope: null,
            Record(account, "req-o-good", CallSettler.Sources.Provider, charged: 0));
        Assert.Equal((SettleStatus.Settled, Credits.FromDecimal(2), true, 1L), (settled.Status, settled.Charged, stored, ledger.Transactions - transactions));
        var record = (await RecordsAsync(account, "req-o-good")).Single();
        Assert.Equal((CallSettler.Sources.Provider, 2_000_000L, 0L), (record.UsageSource, record.ChargedMicro, record.OverageMicro));
        Assert.False(await MarkedAsync("req-o-good"), "a call whose record rode with its settlement got a marker row");

        // A record the database refuses (here: a required column missing) must not cost the charge: settled alone, and
        // the call is not counted as recorded (its record is written later, or its admission resolves it).
        var bad = await AdmitAsync(leases, account, "req-o-bad");
        var refused = Record(account, "req-o-bad", CallSettler.Sources.Provider, charged: 0);
        refused.Route = null!;
        var (charged, kept) = await leases.SettleAsync(bad, "req-o-bad", Credits.FromDecimal(3), scope: null, refused);
        Assert.Equal((SettleStatus.Settled, Credits.FromDecimal(3), false), (charged.Status, charged.Charged, kept));
        Assert.Empty(await RecordsAsync(account, "req-o-bad"));
        await using (var context = new LedgerDbContext(db.Options))
        {
            Assert.Equal(1, await context.CreditCharges.CountAsync(c => c.RequestId == "req-o-bad"));
        }
        var balance = (await ledger.GetBalanceAsync(account))!;
        Assert.Equal(Credits.FromDecimal(995), balance.Available + balance.Held);
        await leases.StopAsync(CancellationToken.None);
    }

    private static async Task<CreditLeases.LeasedHold> AdmitAsync(CreditLeases leases, Guid account, string requestId)
    {
        var interrupted = Record(account, requestId, CallSettler.Sources.Interrupted, 0);
        interrupted.Error = CallRecorder.InterruptedError;
        var held = await leases.TryReserveAsync(account, Credits.FromDecimal(5), CancellationToken.None, interrupted);
        Assert.NotNull(held);
        return held.Value.Hold;
    }

    private static CallRecord Record(Guid account, string requestId, string source, long charged) => new()
    {
        RequestId = requestId, AccountId = account, KeyId = Guid.Empty, Route = "openai", Provider = "openai", Model = "gpt-4o",
        Operation = "OpenAiChatCompletions", UsageSource = source, ChargedMicro = charged, EstimateMicro = 123, StartedAt = DateTimeOffset.UnixEpoch,
    };

    private async Task<(CreditLeases Leases, CreditLedger Ledger)> StartAsync(string id, ManualTimeProvider clock)
    {
        var settings = new LedgerOptions
        {
            Leases = true, LeaseTtl = LeaseTtl, LeaseRefreshInterval = TimeSpan.FromHours(1), LeaseMinFreeCredits = 4,
        };
        var ledger = db.CreateLedger(clock, o =>
        {
            o.Leases = true;
            o.LeaseTtl = LeaseTtl;
            o.LeaseRefreshInterval = TimeSpan.FromHours(1);
            o.LeaseMinFreeCredits = 4;
        });
        var leases = new CreditLeases(ledger, Microsoft.Extensions.Options.Options.Create(settings), clock, NullLogger<CreditLeases>.Instance, id,
            Path.Combine(_logs, id + ".jsonl"));
        await leases.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!leases.Active && DateTime.UtcNow < deadline) await Task.Delay(5);
        Assert.True(leases.Active);
        return (leases, ledger);
    }

    private async Task<List<CallRecord>> RecordsAsync(Guid account, params string[] requestIds)
    {
        await using var context = new LedgerDbContext(db.Options);
        return await context.CallRecords.AsNoTracking().Where(r => r.AccountId == account && requestIds.Contains(r.RequestId)).ToListAsync();
    }

    private async Task<bool> MarkedAsync(string requestId)
    {
        await using var context = new LedgerDbContext(db.Options);
        return await context.LeaseAdmissions.AnyAsync(m => m.Records.Contains(requestId));
    }

    private async Task<int> MarkersAsync(string instanceId)
    {
        await using var context = new LedgerDbContext(db.Options);
        return await context.LeaseAdmissions.CountAsync(m => m.InstanceId == instanceId);
    }
}

/// <summary>Admission markers on SQLite.</summary>
public sealed class SqliteLeaseAdmissionTests(SqliteLedgerFixture db) : LeaseAdmissionTests<SqliteLedgerFixture>(db);

/// <summary>Admission markers on PostgreSQL.</summary>
public sealed class PostgresLeaseAdmissionTests(PostgresLedgerFixture db) : LeaseAdmissionTests<PostgresLedgerFixture>(db);
