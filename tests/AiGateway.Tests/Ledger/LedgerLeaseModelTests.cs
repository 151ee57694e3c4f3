using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// The model-based test with credit leases: three gateway instances (each its own <see cref="CreditLedger"/> and
/// <see cref="CreditLeases"/>) on one database. Random grants, reserves (through the lease or, when it cannot decide,
/// exactly), settles above and below the hold, releases, revokes, plan changes, sweeps, clock moves, lease refreshes
/// and instance crashes (an instance's memory dropped at a random point, then restarted with the same identity or left
/// dead) are checked against <see cref="ReferenceLedger"/> after every step: every admitted call fits what the
/// reference says is available counting every instance's holds (no overdraft including pending), lots and their
/// provenance equal the reference (burn-down order, settled once), the books balance, and each instance's lease in
/// memory never exceeds its row.
/// </summary>
public abstract class LedgerLeaseModelTests<TFixture>(TFixture db, ITestOutputHelper output) : IClassFixture<TFixture>
    where TFixture : LedgerDatabaseFixture
{
    private static readonly TimeSpan HoldTtl = TimeSpan.FromHours(2);
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(30);
    private static readonly string?[] PlanChoices = [null, null, "free", "combo"];

    private sealed class Instance(string id, CreditLedger ledger, CreditLeases leases)
    {
        public string Id { get; } = id;
        public CreditLedger Ledger { get; } = ledger;
        public CreditLeases Leases { get; } = leases;
        public bool Alive { get; set; } = true;
    }

    private sealed record OpenCall(string RequestId, int Instance, CreditLeases.LeasedHold? Leased, long Amount);

    protected async Task RunAsync(int seed, int steps)
    {
        var random = new Random(seed);
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 3, 9, 10, 0, 0, TimeSpan.Zero).AddSeconds(seed));
        var model = new ReferenceLedger(LedgerDatabaseFixture.TestPlans(), CreditKinds.All, HoldTtl);
        var account = await db.CreateAccountAsync();
        var instances = new Instance[3];
        for (var i = 0; i < instances.Length; i++) instances[i] = await StartAsync($"model-{seed}-{i}", clock);
        var open = new List<OpenCall>();
        var done = new List<string>();
        var idToKey = new Dictionary<long, string>();
        var trace = new List<string>();
        var stats = new SortedDictionary<string, int>();
        var keys = new List<string>();
        long leasedAdmissions = 0, exactAdmissions = 0;

        for (var step = 0; step < steps; step++)
        {
          try
          {
            var now = clock.GetUtcNow();
            var t = now.UtcTicks;
            var op = random.Next(100);
            var live = instances.Select((x, i) => (x, i)).Where(p => p.x.Alive).ToList();
            var (inst, index) = live[random.Next(live.Count)];
            string what;
            if (op < 14)
            {
                var kind = CreditKinds.All[random.Next(CreditKinds.All.Count)];
                var amount = random.Next(4) == 0 ? random.Next(1, 3_000_000) : random.Next(1, 60_000_000);
                var key = keys.Count > 0 && random.Next(6) == 0 ? keys[random.Next(keys.Count)] : $"g{seed}-{step}";
                DateTimeOffset? expiresAt = random.Next(3) == 0 ? now.AddMinutes(random.Next(1, 600)) : null;
                var result = await inst.Ledger.GrantAsync(account, kind, new Credits(amount), expiresAt, null, "model", key);
                var expiry = inst.Ledger.ResolveExpiry(kind, new Credits(amount), expiresAt, null, "model", now);
                var lot = model.Grant(key, kind, amount, t, expiry?.UtcTicks, null);
                if (lot is not null) keys.Add(key);
                what = $"grant@{index} {kind} {amount} -> {result.Status}";
                Assert.Equal(lot is null ? GrantStatus.Repeated : GrantStatus.Granted, result.Status);
            }
            else if (op < 44)
            {
                var request = $"q{seed}-{step}";
                var amount = random.Next(10) == 0 ? random.Next(0, 20_000_000) : random.Next(1, 2_000_000);
                var leased = await inst.Leases.TryReserveAsync(account, new Credits(amount), CancellationToken.None);
                ReserveStatus status;
                if (leased is { } l)
                {
                    status = ReserveStatus.Reserved;
                    leasedAdmissions++;
                }
                else
                {
                    await inst.Leases.ReturnUnusedAsync(account, CancellationToken.None);
                    status = (await inst.Ledger.ReserveAsync(account, new Credits(amount), request)).Status;
                    if (status == ReserveStatus.Reserved) exactAdmissions++;
                }
                var availableBefore = model.Available(t);
                if (status == ReserveStatus.Reserved)
                {
                    // The one promise leases must keep: nothing admitted beyond what is available after every
                    // instance's holds (leased ones included) and the debt.
                    Assert.True(model.Overage == 0 && availableBefore >= amount,
                        $"step {step}: instance {index} admitted {amount} ({(leased is null ? "exact" : "leased")}) but only {availableBefore} was available (overage {model.Overage})");
                    Assert.Equal(ReserveStatus.Reserved, model.Reserve(request, amount, t));
                    // A leased hold lives in memory as long as its call: it never expires by the hold TTL.
                    if (leased is not null) model.Holds[request].ExpiresAt = long.MaxValue;
                    open.Add(new OpenCall(request, index, leased?.Hold, amount));
                }
                what = $"reserve@{index} {request} {amount} -> {status}{(leased is null ? "" : " leased")} (available {availableBefore})";
            }
            else if (op < 62 && open.Count > 0)
            {
                var call = open[random.Next(open.Count)];
                var owner = instances[call.Instance];
                long[] factors = [0, 30, 100, 100, 100, 150, 400];
                var actual = call.Amount * factors[random.Next(factors.Length)] / 100;
                SettleResult result;
                if (call.Leased is { } hold) result = await owner.Leases.SettleAsync(hold, call.RequestId, new Credits(actual), scope: null);
                else result = await owner.Ledger.SettleAsync(call.RequestId, new Credits(actual));
                var (status, repeated, expected) = model.Settle(call.RequestId, actual, t);
                open.Remove(call);
                done.Add(call.RequestId);
                what = $"settle@{call.Instance} {call.RequestId} {actual} -> {result.Status} charged={result.Charged.Micro} overage={result.Overage.Micro}";
                Assert.Equal(status, result.Status);
                Assert.Equal(repeated, result.Repeated);
                if (status == SettleStatus.Settled)
                {
                    Assert.Equal(expected!.Charged, result.Charged.Micro);
                    Assert.Equal(expected.Overage, result.Overage.Micro);
                    var actualAllocations = result.Allocations.Select(a => (idToKey.GetValueOrDefault(a.LotId, "?"), a.Amount.Micro)).ToList();
                    Assert.Equal(expected.Allocations.Select(a => (a.Key, a.Amount)).ToList(), actualAllocations);
                }
            }
            else if (op < 70 && open.Count > 0)
            {
                var call = open[random.Next(open.Count)];
                var owner = instances[call.Instance];
                ReleaseStatus status;
                if (call.Leased is { } hold)
                {
                    owner.Leases.Release(hold);
                    status = ReleaseStatus.Released;
                }
                else
                {
                    status = (await owner.Ledger.ReleaseAsync(call.RequestId)).Status;
                }
                open.Remove(call);
                what = $"release@{call.Instance} {call.RequestId} -> {status}";
                Assert.Equal(model.Release(call.RequestId), status);
            }
            else if (op < 74 && idToKey.Count > 0)
            {
                var id = idToKey.Keys.ElementAt(random.Next(idToKey.Count));
                var result = await inst.Ledger.RevokeGrantAsync(id);
                var revoked = model.Revoke(model.Lots.Single(l => l.Key == idToKey[id]));
                what = $"revoke@{index} {idToKey[id]} -> {result.Status}";
                Assert.Equal(revoked, result.Revoked.Micro);
                // Admin changes reach the other instances within one refresh (≤ 1 s by default); the next call comes after it.
                await RefreshAllAsync(instances);
            }
            else if (op < 76)
            {
                var plan = PlanChoices[random.Next(PlanChoices.Length)];
                var result = await inst.Ledger.ChangePlanAsync(account, plan);
                what = $"plan@{index} {plan} -> {result.Status}";
                Assert.Equal(model.ChangePlan(account, plan, now), result.Status);
                await RefreshAllAsync(instances);
            }
            else if (op < 84)
            {
                // Time passes while every live instance renews its leases (each refresh ≤ a third of the TTL apart).
                var seconds = random.Next(1, 11);
                clock.Advance(TimeSpan.FromSeconds(seconds));
                await RefreshAllAsync(instances);
                what = $"advance {seconds}s";
            }
            else if (op < 86 && open.All(c => c.Leased is null || !instances[c.Instance].Alive))
            {
                // A long quiet time (no call in flight on a lease): leases lapse, lots and exact holds may expire.
                var minutes = random.Next(1, 400);
                clock.Advance(TimeSpan.FromMinutes(minutes));
                await RefreshAllAsync(instances);
                what = $"advance {minutes}m";
            }
            else if (op < 89)
            {
                await inst.Ledger.ExpireHoldsAsync();
                await inst.Ledger.ExpireLotsAsync();
                await inst.Ledger.SweepExpiredLeasesAsync();
                model.ExpireHolds(t);
                model.ExpireLots(t);
                what = $"sweep@{index}";
            }
            else if (op < 94)
            {
                await inst.Leases.RefreshAsync(CancellationToken.None);
                what = $"refresh@{index}";
            }
            else if (op < 97 && live.Count > 1)
            {
                // kill -9: the instance's memory is gone; its in-flight calls are never settled (not charged).
                inst.Alive = false;
                await inst.Leases.StopAsync(CancellationToken.None);
                foreach (var call in open.Where(c => c.Instance == index && c.Leased is not null).ToList())
                {
                    open.Remove(call);
                    model.Release(call.RequestId);
                }
                what = $"crash@{index}";
            }
            else if (instances.FirstOrDefault(x => !x.Alive) is { } dead)
            {
                // The same instance restarts: it returns whatever it leased before at once.
                var at = Array.IndexOf(instances, dead);
                var restarted = await StartAsync(dead.Id, clock);
                instances[at] = restarted;
                foreach (var call in open.Where(c => c.Instance == at && c.Leased is null).ToList())
                {
                    // Its exact holds live on in the database (they expire by their TTL, as before leases).
                }
                Assert.Equal(0, await LeaseOfAsync(account, dead.Id, clock.GetUtcNow()));
                what = $"restart@{at}";
            }
            else
            {
                var balance = (await inst.Ledger.GetBalanceAsync(account))!;
                what = $"balance@{index} available={balance.Available.Micro}";
                trace.Add(what + $" held={balance.Held.Micro} model held={model.Held} local={inst.Leases.LocalLease(account)}");
                // Credits leased by other instances and not used show as held: never more available than the reference.
                Assert.True(balance.Available.Micro <= model.Available(t), $"balance shows {balance.Available.Micro} > {model.Available(t)}");
            }
            // Lazy plan issue happens on the instances' transactions; make it happen at the same points in the model.
            await instances.First(x => x.Alive).Ledger.IssuePlanCreditsAsync();
            model.EnsurePlan(account, clock.GetUtcNow());

            trace.Add(what);
            var label = what.Split(' ')[0].Split('@')[0] + (what.Contains("->") ? " " + what[(what.IndexOf("->") + 3)..].Split(' ')[0] : "")
                        + (what.EndsWith("leased") || what.Contains(" leased ") ? " leased" : "");
            stats[label] = stats.GetValueOrDefault(label) + 1;
            try
            {
                var snapshot = await LedgerSnapshot.ReadAsync(db, account);
                foreach (var lot in snapshot.Lots) idToKey[lot.Id] = lot.IdempotencyKey!;
                await CompareAsync(model, snapshot, instances, account, clock.GetUtcNow(), open);
                if (step % 50 == 0) snapshot.AssertBalanced();
            }
            catch (Exception ex)
            {
                throw new Xunit.Sdk.XunitException("trace:\n" + string.Join(Environment.NewLine, trace.TakeLast(20)) + "\n" + ex);
            }
          }
          catch (Exception ex) when (ex is not Xunit.Sdk.XunitException { Message: var m } || !m.StartsWith("trace:"))
          {
              throw new Xunit.Sdk.XunitException("trace:\n" + string.Join(Environment.NewLine, trace.TakeLast(20)) + "\n" + ex);
          }
        }
        (await LedgerSnapshot.ReadAsync(db, account)).AssertBalanced();
        output.WriteLine($"leased admissions {leasedAdmissions}, exact admissions {exactAdmissions}");
        output.WriteLine(string.Join(Environment.NewLine, stats.Select(kv => $"{kv.Key}: {kv.Value}")));
        Assert.True(leasedAdmissions > steps / 20, $"only {leasedAdmissions} admissions went through a lease");
        Assert.True(exactAdmissions > 0, "no admission fell back to an exact hold");
        foreach (var instance in instances.Where(x => x.Alive)) await instance.Leases.StopAsync(CancellationToken.None);
    }

    private async Task<Instance> StartAsync(string id, ManualTimeProvider clock)
    {
        var ledger = db.CreateLedger(clock, o =>
        {
            o.Leases = true;
            o.HoldTtl = HoldTtl;
            o.LeaseTtl = LeaseTtl;
            // Refreshes are steps of the test, not a background timer (the test's clock is manual).
            o.LeaseRefreshInterval = TimeSpan.FromHours(1);
            o.LeaseSpendWindow = TimeSpan.FromSeconds(5);
            o.LeaseMinFreeCredits = 4;
            o.LeaseMaxShare = 0.3;
        });
        var options = Microsoft.Extensions.Options.Options.Create(new LedgerOptions
        {
            Leases = true, HoldTtl = HoldTtl, LeaseTtl = LeaseTtl, LeaseRefreshInterval = TimeSpan.FromHours(1),
            LeaseSpendWindow = TimeSpan.FromSeconds(5), LeaseMinFreeCredits = 4, LeaseMaxShare = 0.3,
        });
        var leases = new CreditLeases(ledger, options, clock, NullLogger<CreditLeases>.Instance, id,
            // No call here carries an interrupted record: the admission log is never written.
            Path.Combine(Path.GetTempPath(), $"aigw-admissions-{Guid.NewGuid():N}.jsonl"));
        await leases.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!leases.Active && DateTime.UtcNow < deadline) await Task.Delay(5);
        Assert.True(leases.Active);
        return new Instance(id, ledger, leases);
    }

    private static async Task RefreshAllAsync(IEnumerable<Instance> instances)
    {
        foreach (var instance in instances.Where(x => x.Alive)) await instance.Leases.RefreshAsync(CancellationToken.None);
    }

    private async Task<long> LeaseOfAsync(Guid account, string instanceId, DateTimeOffset now)
    {
        await using var context = new LedgerDbContext(db.Options);
        var leases = await context.CreditLeases.AsNoTracking().Where(l => l.AccountId == account && l.InstanceId == instanceId).ToListAsync();
        return leases.Where(l => l.ExpiresAt > now).Sum(l => l.Amount);
    }

    private async Task CompareAsync(
        ReferenceLedger model, LedgerSnapshot snapshot, Instance[] instances, Guid account, DateTimeOffset now, List<OpenCall> open)
    {
        // Lots, their provenance and what was charged: exactly the reference (burn-down order, settled once).
        Assert.Equal(model.Lots.Count, snapshot.Lots.Count);
        foreach (var lot in snapshot.Lots)
        {
            var expected = model.Lots.Single(l => l.Key == lot.IdempotencyKey);
            Assert.Equal((expected.Key, expected.Remaining, expected.Consumed, expected.Expired, expected.Revoked, expected.Expires),
                (lot.IdempotencyKey, lot.Remaining, lot.Consumed, lot.Expired, lot.Revoked, lot.ExpiresAt?.UtcTicks));
        }
        Assert.Equal(model.Overage, snapshot.State?.Overage ?? 0);
        // The database holds exactly the exact holds; leased holds are in memory.
        var exactHeld = model.Holds.Where(h => h.Value.Status == HoldStatuses.Active && open.Any(c => c.RequestId == h.Key && c.Leased is null))
            .Sum(h => h.Value.Amount);
        Assert.Equal(exactHeld, snapshot.State?.Held ?? 0);
        Assert.Equal(model.Holds.Values.Count(h => h.Status == HoldStatuses.Settled), snapshot.Charges.Count);
        // Every live instance's lease in memory: covered by its row (never promises what others may also promise),
        // and covering what its calls hold.
        foreach (var instance in instances.Where(x => x.Alive))
        {
            var (amount, used) = instance.Leases.LocalLease(account);
            var row = await LeaseOfAsync(account, instance.Id, now);
            Assert.True(amount <= row, $"instance {instance.Id}: {amount} leased in memory, {row} in its live row");
            var inFlight = open.Where(c => c.Leased is not null && instances[c.Instance] == instance).Sum(c => c.Amount);
            Assert.Equal(inFlight, used);
        }
    }
}

/// <summary>The lease model test on SQLite.</summary>
public sealed class SqliteLedgerLeaseModelTests(SqliteLedgerFixture db, ITestOutputHelper output)
    : LedgerLeaseModelTests<SqliteLedgerFixture>(db, output)
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public Task RandomOperationsOnThreeInstancesWithLeases_ComparedWithReferenceModel_Agree(int seed) => RunAsync(seed, 800);
}

/// <summary>The lease model test on PostgreSQL.</summary>
public sealed class PostgresLedgerLeaseModelTests(PostgresLedgerFixture db, ITestOutputHelper output)
    : LedgerLeaseModelTests<PostgresLedgerFixture>(db, output)
{
    [Theory]
    [InlineData(21)]
    public Task RandomOperationsOnThreeInstancesWithLeases_ComparedWithReferenceModel_Agree(int seed) => RunAsync(seed, 800);
}
