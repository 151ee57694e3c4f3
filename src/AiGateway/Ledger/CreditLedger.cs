using System.Collections.Concurrent;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AiGateway.Ledger;

/// <summary>
/// The credit ledger: lots, two-phase holds, charges and the activity ledger of one account database.
/// Every movement runs in one database transaction holding the account's lock (see <see cref="LedgerSession"/>),
/// so several gateway instances sharing the database stay correct; nothing relies on in-process state for correctness.
/// </summary>
public sealed partial class CreditLedger : IAsyncDisposable, IDisposable
{
    private readonly IDbContextFactory<LedgerDbContext> _dbFactory;
    private readonly LedgerOptions _options;
    private readonly PlanCatalog _plans;
    private readonly TimeProvider _time;
    private readonly BurnDownOrder _burnDownOrder;
    private readonly DatabaseWriter _writer;
    private readonly bool _ownsWriter;

    // Which plan period was last seen issued per account: lets the hot path skip the idempotent insert.
    // Only an optimisation: the unique idempotency key is what prevents double issue.
    private readonly ConcurrentDictionary<Guid, string> _issuedPeriods = new();

    // Null when no webhook endpoint is configured: then no ledger path reads or writes notification state.
    private readonly Notifications.NotificationOutbox? _notify;

    /// <summary>Creates the ledger over the given database with a database writer of its own (tools and tests).</summary>
    public CreditLedger(
        IDbContextFactory<LedgerDbContext> dbFactory, IOptions<LedgerOptions> options, PlanCatalog plans, TimeProvider time,
        Notifications.NotificationOutbox? notifications = null)
        : this(new DatabaseWriter(dbFactory, options.Value.SqliteGroupCommitMaxOperations), ownsWriter: true, dbFactory, options, plans, time, notifications)
    {
    }

    /// <summary>
    /// Creates the ledger writing through the process's <paramref name="writer"/>, which every other database writer shares;
    /// <paramref name="notifications"/> writes balance events in its transactions.
    /// </summary>
    public CreditLedger(
        DatabaseWriter writer, IDbContextFactory<LedgerDbContext> dbFactory, IOptions<LedgerOptions> options, PlanCatalog plans, TimeProvider time,
        Notifications.NotificationOutbox? notifications = null)
        : this(writer, ownsWriter: false, dbFactory, options, plans, time, notifications)
    {
    }

    private CreditLedger(
        DatabaseWriter writer, bool ownsWriter, IDbContextFactory<LedgerDbContext> dbFactory, IOptions<LedgerOptions> options,
        PlanCatalog plans, TimeProvider time, Notifications.NotificationOutbox? notifications)
    {
        _notify = notifications is { Enabled: true } ? notifications : null;
        _writer = writer;
        _ownsWriter = ownsWriter;
        _dbFactory = dbFactory;
        _options = options.Value;
        _plans = plans;
        _time = time;
        _burnDownOrder = new BurnDownOrder(_options.EffectiveKindPriority);
        _meter = new System.Diagnostics.Metrics.Meter("AiGateway.Ledger");
        _meter.CreateObservableCounter("aigateway.ledger.transactions", () => Transactions, unit: "{transaction}",
            description: "Ledger database transactions (a SQLite group commit counts once).");
    }

    private readonly System.Diagnostics.Metrics.Meter _meter;

    /// <summary>Disposes the database writer when the ledger created it (committing what a group holds) and the meter.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_ownsWriter) await _writer.DisposeAsync();
        _meter.Dispose();
    }

    /// <summary>Like <see cref="DisposeAsync"/> (SQLite closes synchronously anyway).</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>This instance's id when it holds credit leases (set by <see cref="CreditLeases"/>); null without leases.</summary>
    internal string? LeaseInstanceId { get; set; }

    /// <summary>What this instance's calls hold in memory against its lease of an account (set by <see cref="CreditLeases"/>).</summary>
    internal Func<Guid, long>? LocalLeases { get; set; }

    /// <summary>Raised after an admin change that took credits away (revoke, plan change) was committed, with the account.</summary>
    internal event Action<Guid>? AccountChanged;

    /// <summary>
    /// Ledger database transactions begun so far (each SQLite group commit counts once, however many operations it carries).
    /// Also published as the <c>aigateway.ledger.transactions</c> counter of the <c>AiGateway.Ledger</c> meter.
    /// </summary>
    public long Transactions => _writer.Transactions;

    /// <summary>PostgreSQL: round trips to the server the ledger's transactions made so far (0 on SQLite); see <see cref="DatabaseWriter.RoundTrips"/>.</summary>
    public long RoundTrips => _writer.RoundTrips;

    /// <summary>SQLite group commit counters: operations committed and the commits that carried them (zero on PostgreSQL).</summary>
    public (long Operations, long Commits) GroupCommitStats => _writer.GroupCommitStats;

    /// <summary>The database writer the ledger's transactions go through (shared with every other writer in the gateway).</summary>
    public DatabaseWriter Writer => _writer;

    /// <summary>The burn-down order in use.</summary>
    public BurnDownOrder BurnDownOrder => _burnDownOrder;

    private Task<LedgerSession> BeginAsync(CancellationToken cancellationToken) => _writer.BeginAsync(cancellationToken);

    /// <summary>True when the ledger is on SQLite (in process), false on PostgreSQL.</summary>
    internal bool IsSqlite => _writer.IsSqlite;

    /// <summary>The account's totals read under its lock, kept current by the movements of the same transaction.</summary>
    private sealed class AccountTotals(long held, long overage, string? plan, long leased = 0)
    {
        /// <summary>Micro-credits held by active holds.</summary>
        public long Held { get; set; } = held;

        /// <summary>Micro-credits in unexpired leases of any instance (they count as held for everyone).</summary>
        public long Leased { get; set; } = leased;

        /// <summary>What counts against availability besides debt: active holds and leases.</summary>
        public long Blocked => Held + Leased;

        /// <summary>Outstanding overage debt in micro-credits.</summary>
        public long Overage { get; set; } = overage;

        /// <summary>The account's plan, when read.</summary>
        public string? Plan { get; set; } = plan;
    }

    // The INSERT ... SELECT creates the lock row only for existing accounts (an unknown id yields no row).
    private const string LockSql = """
        INSERT INTO ledger_accounts (account_id, held, overage, updated_at)
        SELECT id, 0, 0, @now FROM accounts WHERE id = @a
        ON CONFLICT (account_id) DO NOTHING;
        SELECT s.held, s.overage, a.plan FROM ledger_accounts s JOIN accounts a ON a.id = s.account_id
        WHERE s.account_id = @a
        """;

    // Leases count until they expire: a dead instance's lease stops counting by itself, without a sweep. A statement of
    // its own after the lock: on PostgreSQL (READ COMMITTED) a statement reads the snapshot taken when it started, so a
    // sum inside the locking SELECT would miss a lease committed while it waited for the lock.
    private const string LeasedSql =
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM credit_leases WHERE account_id = @a AND expires_at > @now";

    private const string SpendableSql = """
        SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT) FROM credit_lots
        WHERE account_id = @a AND remaining > 0 AND effective_at <= @now AND (expires_at IS NULL OR expires_at > @now)
        """;

    /// <summary>Locks the account (PostgreSQL: row lock until commit) and reads its totals; null for an unknown account.</summary>
    private static string LockAccountSql(LedgerSession s) => (s.IsPostgres ? LockSql + " FOR UPDATE OF s" : LockSql) + ";\n" + LeasedSql;

    /// <summary>Reads the two result sets of <see cref="LockAccountSql"/> (positioned on the lock's row); leaves the reader after them.</summary>
    private static async Task<AccountTotals> ReadTotalsAsync(System.Data.Common.DbDataReader reader)
    {
        var totals = new AccountTotals(reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2));
        await reader.NextResultAsync();
        await reader.ReadAsync();
        totals.Leased = reader.GetInt64(0);
        return totals;
    }

    private async Task<AccountTotals?> LockAccountAsync(LedgerSession s, Guid accountId, long nowTicks)
    {
        await using var reader = await s.ReaderAsync(LockAccountSql(s), ("@a", s.Id(accountId)), ("@now", nowTicks));
        return await reader.ReadAsync() ? await ReadTotalsAsync(reader) : null;
    }

    private static async Task<long> SpendableSumAsync(LedgerSession s, Guid accountId, long nowTicks) =>
        await s.ScalarAsync(SpendableSql, ("@a", s.Id(accountId)), ("@now", nowTicks)) ?? 0;

    private const string ScopedLotsSql = """
        SELECT remaining, model_scope, modality_scope FROM credit_lots
        WHERE account_id = @a AND remaining > 0 AND effective_at <= @now AND (expires_at IS NULL OR expires_at > @now)
        """;

    /// <summary>The unexpired remaining of the lots that may pay for <paramref name="scope"/> (all lots when null).</summary>
    private static async Task<long> SpendableSumAsync(LedgerSession s, Guid accountId, long nowTicks, CallScope? scope)
    {
        if (scope is null) return await SpendableSumAsync(s, accountId, nowTicks);
        await using var reader = await s.ReaderAsync(ScopedLotsSql, ("@a", s.Id(accountId)), ("@now", nowTicks));
        return await SumApplicableAsync(reader, scope);
    }

    /// <summary>Sums the rows of <see cref="ScopedLotsSql"/> whose scopes apply to the call.</summary>
    private static async Task<long> SumApplicableAsync(System.Data.Common.DbDataReader reader, CallScope scope)
    {
        long sum = 0;
        while (await reader.ReadAsync())
        {
            if (LotScope.Applies(reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), scope))
                sum += reader.GetInt64(0);
        }
        return sum;
    }

    /// <summary>Available = unexpired remaining − active holds − overage debt, never below zero.</summary>
    private static long Available(long spendable, long held, long overage) => Math.Max(0, spendable - held - overage);

    private static async Task<long> AvailableAsync(LedgerSession s, Guid accountId, AccountTotals totals, long nowTicks) =>
        Available(await SpendableSumAsync(s, accountId, nowTicks), totals.Blocked, totals.Overage);

    private static Task AddEntryAsync(
        LedgerSession s, Guid accountId, long nowTicks, string type, long amount, long availableAfter,
        long? lotId = null, long? holdId = null, long? chargeId = null, string? requestId = null, string? note = null) =>
        s.ExecuteAsync(
            """
            INSERT INTO ledger_entries (account_id, at, type, amount, available_after, lot_id, hold_id, charge_id, request_id, note)
            VALUES (@a, @at, @type, @amount, @after, @lot, @hold, @charge, @req, @note)
            """,
            ("@a", s.Id(accountId)), ("@at", nowTicks), ("@type", type), ("@amount", amount), ("@after", availableAfter),
            ("@lot", lotId), ("@hold", holdId), ("@charge", chargeId), ("@req", requestId), ("@note", note));

    /// <summary>What a new lot should contain.</summary>
    private sealed record NewLot(
        string Kind, long Amount, DateTimeOffset EffectiveAt, DateTimeOffset? ExpiresAt, string Reason, string? SourceRef, string? IdempotencyKey,
        string? ModelScope = null, string? ModalityScope = null, string? Fingerprint = null);

    /// <summary>
    /// Inserts a lot under the account lock, repaying overage debt from it first; a repeated idempotency key
    /// returns the original lot (the unique index decides, so this is safe across instances) — or, when both the original
    /// and this request carry a parameter fingerprint and they differ, <see cref="GrantStatus.IdempotencyConflict"/>.
    /// </summary>
    private async Task<GrantResult> InsertLotAsync(LedgerSession s, Guid accountId, AccountTotals totals, NewLot lot, long nowTicks)
    {
        var repay = Math.Min(totals.Overage, lot.Amount);
        var id = await s.ScalarAsync(
            """
            INSERT INTO credit_lots (account_id, kind, amount, remaining, consumed, expired, revoked,
                                     effective_at, expires_at, reason, source_ref, idempotency_key, created_at, model_scope, modality_scope, fingerprint)
            VALUES (@a, @kind, @amount, @remaining, @consumed, 0, 0, @eff, @exp, @reason, @src, @key, @now, @ms, @mod, @fp)
            ON CONFLICT (account_id, idempotency_key) DO NOTHING
            RETURNING id
            """,
            ("@a", s.Id(accountId)), ("@kind", lot.Kind), ("@amount", lot.Amount), ("@remaining", lot.Amount - repay),
            ("@consumed", repay), ("@eff", lot.EffectiveAt.UtcTicks), ("@exp", lot.ExpiresAt?.UtcTicks),
            ("@reason", lot.Reason), ("@src", lot.SourceRef), ("@key", lot.IdempotencyKey), ("@now", nowTicks),
            ("@ms", lot.ModelScope), ("@mod", lot.ModalityScope), ("@fp", lot.Fingerprint));
        if (id is null)
        {
            if (lot.Fingerprint is not null && await LotFingerprintAsync(s, accountId, lot.IdempotencyKey!) is { } stored && stored != lot.Fingerprint)
            {
                return new GrantResult(GrantStatus.IdempotencyConflict, null, Credits.Zero, new Credits(await AvailableAsync(s, accountId, totals, nowTicks)));
            }
            var existing = await FindLotByKeyAsync(s, accountId, lot.IdempotencyKey!);
            return new GrantResult(GrantStatus.Repeated, existing, Credits.Zero, new Credits(await AvailableAsync(s, accountId, totals, nowTicks)));
        }
        if (repay > 0)
        {
            await s.ExecuteAsync("UPDATE ledger_accounts SET overage = overage - @r, updated_at = @now WHERE account_id = @a",
                ("@r", repay), ("@now", nowTicks), ("@a", s.Id(accountId)));
        }
        totals.Overage -= repay;
        var spendable = await SpendableSumAsync(s, accountId, nowTicks);
        var available = Available(spendable, totals.Blocked, totals.Overage);
        if (_notify is not null) await _notify.OnLotAddedAsync(s, accountId, lot.Amount, spendable - totals.Overage, nowTicks);
        if (repay > 0)
        {
            await AddEntryAsync(s, accountId, nowTicks, LedgerEntryTypes.Adjust, repay, available, lotId: id, note: "overage repaid");
        }
        await AddEntryAsync(s, accountId, nowTicks, LedgerEntryTypes.Grant, lot.Amount, available, lotId: id, note: lot.Kind);
        var view = new LotView(id.Value, lot.Kind, new Credits(lot.Amount), new Credits(lot.Amount - repay),
            lot.EffectiveAt, lot.ExpiresAt, lot.Reason, lot.SourceRef, lot.IdempotencyKey,
            LotScope.Split(lot.ModelScope), LotScope.Split(lot.ModalityScope));
        return new GrantResult(GrantStatus.Granted, view, new Credits(repay), new Credits(available));
    }

    private const string LotColumns =
        "id, kind, amount, remaining, effective_at, expires_at, reason, source_ref, idempotency_key, model_scope, modality_scope";

    private static LotView ReadLot(System.Data.Common.DbDataReader r) => new(
        r.GetInt64(0), r.GetString(1), new Credits(r.GetInt64(2)), new Credits(r.GetInt64(3)),
        new DateTimeOffset(r.GetInt64(4), TimeSpan.Zero),
        r.IsDBNull(5) ? null : new DateTimeOffset(r.GetInt64(5), TimeSpan.Zero),
        r.GetString(6), r.IsDBNull(7) ? null : r.GetString(7), r.IsDBNull(8) ? null : r.GetString(8),
        LotScope.Split(r.IsDBNull(9) ? null : r.GetString(9)), LotScope.Split(r.IsDBNull(10) ? null : r.GetString(10)));

    private static async Task<string?> LotFingerprintAsync(LedgerSession s, Guid accountId, string key)
    {
        await using var reader = await s.ReaderAsync(
            "SELECT fingerprint FROM credit_lots WHERE account_id = @a AND idempotency_key = @key", ("@a", s.Id(accountId)), ("@key", key));
        return await reader.ReadAsync() && !reader.IsDBNull(0) ? reader.GetString(0) : null;
    }

    private static async Task<LotView?> FindLotByKeyAsync(LedgerSession s, Guid accountId, string key)
    {
        await using var reader = await s.ReaderAsync(
            $"SELECT {LotColumns} FROM credit_lots WHERE account_id = @a AND idempotency_key = @key",
            ("@a", s.Id(accountId)), ("@key", key));
        return await reader.ReadAsync() ? ReadLot(reader) : null;
    }
}
