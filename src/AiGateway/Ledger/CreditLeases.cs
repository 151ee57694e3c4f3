using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.Extensions.Options;

namespace AiGateway.Ledger;

/// <summary>
/// Credit leases, the in-memory side. Per account, this instance holds a lease row in the database (taken, resized and
/// returned in one ledger transaction each, see <see cref="CreditLedger.ResizeLeaseAsync"/>) and holds its calls
/// against it in memory: no database write per reserve or release. Settlements (and call records) queue and are
/// written by one batch transaction at a time; a settle returns only once its batch is committed.
/// <para>
/// Admissions: a leased call is forwarded without waiting for any commit. Its would-be <c>interrupted</c> record is
/// appended to this instance's local <see cref="AdmissionLog"/> first (a restart of the same instance records every
/// logged call that has no record), and its database marker rides on a later batch (the second one to see it) or the
/// next lease renewal, whichever commits first, so another instance's sweep resolves it if this instance never comes
/// back. A call recorded before that needs no marker row at all.
/// </para>
/// <para>
/// Safety: the lease amount in memory is never above the database row (it is lowered before the database, raised
/// after), and what calls hold plus what waits to be written never exceeds it, so the credits an instance promises are
/// always counted as held for every other instance. When an account's free credits are low, or a call needs what
/// only the database can decide (task budgets, scoped lots, video jobs), the caller holds exactly in the database.
/// </para>
/// </summary>
public sealed class CreditLeases : BackgroundService
{
    private readonly CreditLedger _ledger;
    private readonly LedgerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<CreditLeases> _logger;
    private readonly ConcurrentDictionary<Guid, AccountLease> _accounts = new();
    private readonly Channel<BatchItem> _queue =
        Channel.CreateBounded<BatchItem>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.Wait });
    // Admission markers whose calls are all recorded: deleted by the next batch or refresh.
    private readonly ConcurrentQueue<long> _finishedMarkers = new();
    // Leased calls admitted whose marker row is not written yet: taken by the next batch or refresh.
    private readonly ConcurrentQueue<LeasedHold> _unmarked = new();
    private readonly AdmissionLog _admissionLog;
    // Leased calls admitted and not yet recorded (or, without a record to keep, not yet settled or released): the calls
    // that may still queue work for the batch writer (see WriteBatchesAsync).
    private int _activeCalls;
    // Items in the last batch written: the batch writer lingers only after large batches.
    private int _lastBatchItems;
    // The writer's turn: one batch at a time, written by the batch writer or, on a quiet gateway, by the settling call
    // itself (see EnqueueAsync). Batches must not overlap: the marker bookkeeping (TakeUnmarked) assumes one writer.
    private readonly SemaphoreSlim _turn = new(1, 1);
    private long _writtenByTheirCall;
    private TaskCompletionSource? _lingerSignal;
    private int _lingerTarget;
    private readonly long _minFree;
    // A batch at least this large turns lingering on for the next one (below it, load is light: write at once).
    private const int LingerAfterBatch = 4;
    // A settling call writes its own batch only when no more leased calls than this (itself included) are in flight: with
    // even two allowed, a saturated single core (calls spend little time between admission and settlement) wrote 57 per
    // 1,000 calls instead of 45–51.
    private const int InlineMaxActiveCalls = 1;
    private volatile bool _ready;
    private volatile bool _stopping;

    /// <summary>Creates the lease book of this instance; leases are used once start-up returned any the instance held before.</summary>
    /// <param name="admissionLogPath">This instance's local admission log (see <see cref="AdmissionLog"/>), e.g. next to its instance id.</param>
    public CreditLeases(
        CreditLedger ledger, IOptions<LedgerOptions> options, TimeProvider time, ILogger<CreditLeases> logger, string instanceId, string admissionLogPath)
    {
        _admissionLog = new AdmissionLog(admissionLogPath);
        _ledger = ledger;
        _options = options.Value;
        _time = time;
        _logger = logger;
        InstanceId = instanceId;
        _minFree = Credits.FromDecimal(_options.LeaseMinFreeCredits).Micro;
        if (_options.Leases)
        {
            ledger.LeaseInstanceId = instanceId;
            ledger.LocalLeases = HeldInMemory;
            ledger.AccountChanged += Forget;
        }
    }

    /// <summary>This instance's identity in the lease rows.</summary>
    public string InstanceId { get; }

    /// <summary>Whether leases are in use (configured on, and the start-up return of old leases is done).</summary>
    public bool Active => _options.Leases && _ready;

    /// <summary>A call's hold against this instance's lease; resolved (settled or released) exactly once.</summary>
    public sealed class LeasedHold(Guid accountId, long amount, object lease)
    {
        private int _resolved;

        /// <summary>The lease state the hold was taken from (settled and released against that very state).</summary>
        internal object Lease { get; } = lease;

        /// <summary>The account.</summary>
        public Guid AccountId { get; } = accountId;

        /// <summary>Micro-credits held.</summary>
        public long Amount { get; } = amount;

        /// <summary>The durable marker of the call's admission (null: none was asked for, or the call is recorded).</summary>
        internal AdmissionMarker? Marker;

        /// <summary>The call's request id and interrupted record (JSON) when its admission is logged.</summary>
        internal string? RequestId;

        internal byte[]? AdmissionJson;

        /// <summary>Where the call's marker row stands (<see cref="MarkerState"/>), changed only by compare-and-swap.</summary>
        internal int MarkerStep;

        /// <summary>A settlement batch has passed the call over once (it gets its marker row from the next one).</summary>
        internal bool SeenByBatch;

        private int _ended;

        internal bool Resolve() => Interlocked.Exchange(ref _resolved, 1) == 0;

        /// <summary>True the first time: the call no longer counts as active for the batch writer.</summary>
        internal bool End() => Interlocked.Exchange(ref _ended, 1) == 0;
    }

    /// <summary>The steps of a leased call's marker row.</summary>
    internal static class MarkerState
    {
        /// <summary>No marker asked for (no record to keep).</summary>
        public const int None = 0;

        /// <summary>Logged locally, waiting for the next batch or renewal to write its marker row.</summary>
        public const int Unmarked = 1;

        /// <summary>In a batch or renewal being written.</summary>
        public const int Writing = 2;

        /// <summary>Its row is written (<see cref="LeasedHold.Marker"/> set).</summary>
        public const int Marked = 3;

        /// <summary>Recorded before its row was written (or its record rode in the same batch): no row is needed.</summary>
        public const int Recorded = 4;
    }

    /// <summary>One admission marker row in memory: deleted once every call it covers is recorded.</summary>
    internal sealed class AdmissionMarker(long id, int calls, ConcurrentQueue<long> finished)
    {
        private int _outstanding = calls;

        public void Recorded()
        {
            if (Interlocked.Decrement(ref _outstanding) == 0) finished.Enqueue(id);
        }
    }

    /// <summary>The in-memory state of one account's lease (fields under the object's lock).</summary>
    private sealed class AccountLease
    {
        public readonly SemaphoreSlim Resize = new(1, 1);
        public long Amount;           // leased, never above the database row
        public long Reserved;         // held by calls in flight
        public long Pending;          // charged by settlements queued, not yet written
        public long ExpiresAt;        // ticks: the row's expiry as last written or renewed
        public long Outside;          // the account's available credits apart from this lease, as last seen
        public long ExactUntil;       // ticks: hold exactly until then (credits were too low for a lease)
        public long WindowStart;      // ticks: start of the spend window
        public long WindowSpend;      // held in the current window
        public long LastWindowSpend;  // held in the previous window
        public long LastUsed;         // ticks
        public bool Resizing;
        public bool Retired;          // dropped from the book: takes nothing more (a new state is made for the account)
        public long ChargedWhileResizing;
        public long Used => Reserved + Pending;
    }

    /// <summary>
    /// A settlement (with the call's record, when it rides along), a call record, or a correction of a stored record
    /// (<paramref name="replace"/>) to write.
    /// </summary>
    private sealed class BatchItem(CreditLedger.LeasedSettlement? settlement, CallRecord? record, bool replace = false)
    {
        /// <summary>The settlement; loses its record when the two could not be written together (see <see cref="WriteOneAsync"/>).</summary>
        public CreditLedger.LeasedSettlement? Settlement { get; set; } = settlement;

        public CallRecord? Record { get; } = record;

        public bool Replace { get; } = replace;

        public TaskCompletionSource<SettleResult?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// Holds <paramref name="amount"/> for a call against this instance's lease of the account, taking or growing the
    /// lease in one transaction when needed. Null: hold exactly in the database (credits too low for a lease, leases
    /// off, an unknown account, or the admission log cannot be written). With an <paramref name="interruptedRecord"/>,
    /// that record is appended to the local admission log before the hold is returned (should this instance die before
    /// the call is recorded, its restart stores the record as the call's), and its database marker is written by a
    /// later batch or the next renewal (unless the call is recorded first), without a commit of its own (see <see cref="CreditLedger.ResolveAdmissionsAsync"/>).
    /// Call <see cref="Recorded"/> once the call's record is stored.
    /// </summary>
    public async Task<(LeasedHold Hold, Credits AvailableAfter)?> TryReserveAsync(
        Guid accountId, Credits amount, CancellationToken cancellationToken, CallRecord? interruptedRecord = null)
    {
        var reserved = await TryReserveInMemoryAsync(accountId, amount, cancellationToken);
        if (reserved is not { } held) return null;
        var hold = held.Hold;
        Interlocked.Increment(ref _activeCalls);
        if (interruptedRecord is null) return held;
        var json = JsonSerializer.SerializeToUtf8Bytes(interruptedRecord, CallRecordJson.Default.CallRecord);
        try
        {
            _admissionLog.Append(interruptedRecord.RequestId, json);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // No log, no leased call: the hold goes back to the lease and the call holds exactly in the database, whose
            // hold row carries its interrupted record.
            LedgerLog.AdmissionLogFailed(_logger, ex, _admissionLog.Path);
            Release(hold);
            return null;
        }
        hold.RequestId = interruptedRecord.RequestId;
        hold.AdmissionJson = json;
        hold.MarkerStep = MarkerState.Unmarked;
        _unmarked.Enqueue(hold);
        return held;
    }

    /// <summary>The call's record is stored (or journaled with its settlement): its admission log line and marker are no longer needed.</summary>
    public void Recorded(LeasedHold hold)
    {
        if (hold.RequestId is { } requestId) _admissionLog.Done(requestId);
        if (hold.End()) Interlocked.Decrement(ref _activeCalls);
        while (true)
        {
            var step = Volatile.Read(ref hold.MarkerStep);
            if (step is MarkerState.Unmarked or MarkerState.Writing)
            {
                // Not written yet: the writer skips it (or, mid-write, counts it recorded once its row exists).
                if (Interlocked.CompareExchange(ref hold.MarkerStep, MarkerState.Recorded, step) == step) return;
                continue;
            }
            if (step == MarkerState.Marked) Interlocked.Exchange(ref hold.Marker, null)?.Recorded();
            return;
        }
    }

    /// <summary>
    /// Takes the calls admitted since the last batch or renewal for one marker row: their records as one JSON array
    /// (null: none), skipping calls already recorded and those whose record is in <paramref name="recordedNow"/>. A
    /// settlement batch (<paramref name="batch"/>) passes over calls it sees for the first time, leaving them to the
    /// next batch or renewal: most calls are recorded by then and never need a row (a call at saturation is settled
    /// and recorded by one batch, its record riding with its settlement), while a longer call gets its row milliseconds later.
    /// </summary>
    private (List<LeasedHold> Holds, string? Json) TakeUnmarked(HashSet<string>? recordedNow, bool batch)
    {
        var holds = new List<LeasedHold>();
        List<LeasedHold>? later = null;
        System.Text.StringBuilder? json = null;
        while (holds.Count < 4096 && _unmarked.TryDequeue(out var hold))
        {
            if (recordedNow is not null && recordedNow.Contains(hold.RequestId!))
            {
                // Its record commits in this very transaction: no marker needed.
                Interlocked.CompareExchange(ref hold.MarkerStep, MarkerState.Recorded, MarkerState.Unmarked);
                continue;
            }
            if (Volatile.Read(ref hold.MarkerStep) != MarkerState.Unmarked) continue;
            if (batch && !hold.SeenByBatch)
            {
                hold.SeenByBatch = true;
                (later ??= []).Add(hold);
                continue;
            }
            if (Interlocked.CompareExchange(ref hold.MarkerStep, MarkerState.Writing, MarkerState.Unmarked) != MarkerState.Unmarked) continue;
            holds.Add(hold);
            json = json is null ? new System.Text.StringBuilder("[") : json.Append(',');
            json.Append(System.Text.Encoding.UTF8.GetString(hold.AdmissionJson!));
        }
        if (later is not null) foreach (var hold in later) _unmarked.Enqueue(hold);
        return (holds, json?.Append(']').ToString());
    }

    /// <summary>The marker row of <paramref name="holds"/> is committed (<paramref name="markerId"/>), or not (null: they wait for the next one).</summary>
    private void AfterMarkers(List<LeasedHold> holds, long? markerId)
    {
        if (holds.Count == 0) return;
        if (markerId is not { } id)
        {
            foreach (var hold in holds)
            {
                if (Interlocked.CompareExchange(ref hold.MarkerStep, MarkerState.Unmarked, MarkerState.Writing) == MarkerState.Writing) _unmarked.Enqueue(hold);
            }
            return;
        }
        var marker = new AdmissionMarker(id, holds.Count, _finishedMarkers);
        foreach (var hold in holds)
        {
            hold.Marker = marker;
            // Recorded while its row was being written: the row's count goes down now.
            if (Interlocked.CompareExchange(ref hold.MarkerStep, MarkerState.Marked, MarkerState.Writing) != MarkerState.Writing)
                Interlocked.Exchange(ref hold.Marker, null)?.Recorded();
        }
    }

    private async Task<(LeasedHold Hold, Credits AvailableAfter)?> TryReserveInMemoryAsync(Guid accountId, Credits amount, CancellationToken cancellationToken)
    {
        if (!Active || amount.Micro <= 0) return null;
        var now = _time.GetUtcNow().UtcTicks;
        var lease = _accounts.GetOrAdd(accountId, static (_, t) => new AccountLease { LastUsed = t }, now);
        if (TryTake(lease, amount.Micro, now) is { } taken) return (new LeasedHold(accountId, amount.Micro, lease), taken);
        if (Volatile.Read(ref lease.ExactUntil) > now) return Fallback(FallbackReason.ExactWindow);
        await lease.Resize.WaitAsync(cancellationToken);
        try
        {
            now = _time.GetUtcNow().UtcTicks;
            if (TryTake(lease, amount.Micro, now) is { } again) return (new LeasedHold(accountId, amount.Micro, lease), again);
            if (Volatile.Read(ref lease.ExactUntil) > now) return Fallback(FallbackReason.ExactWindow);
            if (Volatile.Read(ref lease.Retired)) return Fallback(FallbackReason.Retired);
            var state = await ResizeAsync(accountId, lease, amount.Micro, returnOnly: false, cancellationToken);
            if (state is null || state.Exact) return Fallback(FallbackReason.TooLittleToLease);
            return TryTake(lease, amount.Micro, _time.GetUtcNow().UtcTicks) is { } after
                ? (new LeasedHold(accountId, amount.Micro, lease), after)
                : Fallback(FallbackReason.NotCoveredAfterResize);
        }
        finally
        {
            lease.Resize.Release();
        }
    }

    /// <summary>Why a call could not hold against its lease (and held exactly in the database instead).</summary>
    internal enum FallbackReason
    {
        /// <summary>The account's leases were recalled, or a lease could not be had, a moment ago: exact for a spend window.</summary>
        ExactWindow,
        /// <summary>The account was forgotten by this instance while the call waited.</summary>
        Retired,
        /// <summary>The lease transaction found too little to lease (low balance, debt) and answered "hold exactly".</summary>
        TooLittleToLease,
        /// <summary>A lease was taken or grown, and still did not cover the call.</summary>
        NotCoveredAfterResize,
    }

    private readonly long[] _fallbacks = new long[Enum.GetValues<FallbackReason>().Length];
    private long _recallsSeen;

    /// <summary>Recalls of this instance's leases seen at its refreshes (each starts an exact window for the account).</summary>
    public long RecallsSeen => Interlocked.Read(ref _recallsSeen);

    /// <summary>Calls that held exactly because their lease could not cover them, by reason (<c>GET /admin/ledger/stats</c>).</summary>
    public IReadOnlyDictionary<string, long> Fallbacks => Enum.GetValues<FallbackReason>()
        .ToDictionary(r => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(r.ToString()), r => Interlocked.Read(ref _fallbacks[(int)r]));

    private (LeasedHold Hold, Credits AvailableAfter)? Fallback(FallbackReason reason)
    {
        Interlocked.Increment(ref _fallbacks[(int)reason]);
        return null;
    }

    /// <summary>Takes from the lease in memory; the available credits after, or null when the lease cannot cover it now.</summary>
    private Credits? TryTake(AccountLease lease, long amount, long now)
    {
        lock (lease)
        {
            // Admission stops a third of a TTL before expiry: a lease must not lapse under a call it just admitted
            // because one renewal was late (clock differences between instances included).
            if (lease.Retired || lease.Resizing || lease.Amount - lease.Used < amount || now >= lease.ExpiresAt - _options.LeaseTtl.Ticks / 3) return null;
            lease.Reserved += amount;
            lease.LastUsed = now;
            RollWindow(lease, now);
            lease.WindowSpend += amount;
            return new Credits(Math.Max(0, lease.Outside - lease.Used));
        }
    }

    private void RollWindow(AccountLease lease, long now)
    {
        var window = _options.LeaseSpendWindow.Ticks;
        if (now - lease.WindowStart < window) return;
        lease.LastWindowSpend = now - lease.WindowStart < 2 * window ? lease.WindowSpend : 0;
        lease.WindowStart = now;
        lease.WindowSpend = 0;
    }

    /// <summary>One lease transaction: grow the lease to what calls use plus a window of recent spend, or return it.</summary>
    private async Task<CreditLedger.LeaseState?> ResizeAsync(Guid accountId, AccountLease lease, long amount, bool returnOnly, CancellationToken cancellationToken)
    {
        long used, extra;
        lock (lease)
        {
            // No admission from the lease while its row changes (TryTake checks Resizing): memory follows the row after.
            lease.Resizing = true;
            lease.ChargedWhileResizing = 0;
            used = lease.Used;
            RollWindow(lease, _time.GetUtcNow().UtcTicks);
            extra = Math.Max(4 * amount, Math.Max(lease.WindowSpend, lease.LastWindowSpend));
        }
        CreditLedger.LeaseState? state = null;
        try
        {
            state = await _ledger.ResizeLeaseAsync(accountId, InstanceId, used, extra, amount, _options.LeaseMaxShare, _minFree, returnOnly, cancellationToken);
            return state;
        }
        finally
        {
            lock (lease)
            {
                lease.Resizing = false;
                if (state is not null)
                {
                    // Settlements committed meanwhile may have lowered the row after it was written: never assume more.
                    lease.Amount = Math.Max(0, state.Amount - lease.ChargedWhileResizing);
                    lease.ExpiresAt = state.ExpiresAtTicks;
                    lease.Outside = state.Outside;
                    // Credits too low for a lease: the account's calls hold exactly for a spend window. Not after a return
                    // (an idle lease given back, or one returned before an exact hold), which answers Exact whatever the
                    // balance: with the window the next calls of an account idle for a few seconds all held exactly —
                    // two transactions each instead of a place in a batch (IdleLeaseTests).
                    if (state.Exact && !returnOnly) lease.ExactUntil = _time.GetUtcNow().UtcTicks + _options.LeaseSpendWindow.Ticks;
                }
            }
        }
    }

    /// <summary>Releases a leased hold at no cost (in memory only).</summary>
    public void Release(LeasedHold hold)
    {
        if (!hold.Resolve()) return;
        var lease = (AccountLease)hold.Lease;
        lock (lease) lease.Reserved -= hold.Amount;
        if (hold.RequestId is null && hold.End()) Interlocked.Decrement(ref _activeCalls);
    }

    /// <summary>
    /// Settles a leased hold with the actual cost: queued into the next batch, returns once that batch is committed
    /// (the charge is durable). Throws when the database cannot take it (the caller journals the charge).
    /// </summary>
    public async Task<SettleResult> SettleAsync(LeasedHold hold, string requestId, Credits actual, CallScope? scope) =>
        (await SettleAsync(hold, requestId, actual, scope, record: null)).Result;

    /// <summary>
    /// Settles a leased hold as <see cref="SettleAsync(LeasedHold, string, Credits, CallScope?)"/> does, with the call's
    /// <paramref name="record"/> in the same transaction (one commit per call instead of two; its charged and overage
    /// fields are set to what the settlement made). <c>RecordStored</c>: the record committed with the charge, and the
    /// call counts as recorded from that commit (<see cref="Recorded"/>); false: the record must be written later.
    /// </summary>
    public async Task<(SettleResult Result, bool RecordStored)> SettleAsync(
        LeasedHold hold, string requestId, Credits actual, CallScope? scope, CallRecord? record)
    {
        if (!hold.Resolve()) throw new InvalidOperationException($"Request {requestId}: leased hold already resolved.");
        var lease = (AccountLease)hold.Lease;
        long decrement;
        lock (lease)
        {
            // The lease covered this call's hold, so the charge comes off the lease up to the hold. Beyond it (a call
            // that cost more than it held) only as far as the lease has room no other call needs; the rest is taken
            // from the account's free credits, as an exact hold's excess is, never from the cover of calls in flight.
            var room = Math.Max(0, lease.Amount - lease.Used);
            decrement = Math.Min(actual.Micro, hold.Amount) + Math.Min(Math.Max(0, actual.Micro - hold.Amount), room);
            lease.Reserved -= hold.Amount;
            lease.Pending += decrement;
        }
        var committed = false;
        try
        {
            var item = new BatchItem(
                new CreditLedger.LeasedSettlement(hold.AccountId, requestId, hold.Amount, actual.Micro, scope, InstanceId, decrement, record), null);
            var result = await EnqueueAsync(item);
            committed = true;
            var recordStored = record is not null && item.Settlement!.Record is not null;
            // Its record committed with the charge: the admission marker and log line are done with at this very commit.
            if (recordStored) Recorded(hold);
            // The batch counted this instance's lease as available; what its other calls hold in memory is not.
            long used;
            lock (lease) used = lease.Reserved + lease.Pending - decrement;
            return (result! with { Available = new Credits(Math.Max(0, result!.Available.Micro - Math.Max(0, used))) }, recordStored);
        }
        finally
        {
            if (hold.RequestId is null && hold.End()) Interlocked.Decrement(ref _activeCalls);
            lock (lease)
            {
                lease.Pending -= decrement;
                // Written: the batch lowered the row by the decrement, memory follows (a resize running now subtracts it too).
                // Not written (journaled, replayed later without touching leases): memory drops it as well, the row keeps
                // it until the next resize, which over-counts and so is safe.
                lease.Amount = Math.Max(0, lease.Amount - decrement);
                if (committed && lease.Resizing) lease.ChargedWhileResizing += decrement;
                if (committed) lease.Outside -= actual.Micro;
            }
        }
    }

    /// <summary>Applies a journaled settlement of a leased call (idempotent by request id): charged as its batch would have.</summary>
    public async Task<SettleResult> ReplayAsync(Guid accountId, string requestId, Credits actual, CallRecord? record = null) =>
        // No lease is lowered: the lease this charge came from was lowered in memory when the batch failed, and the row
        // (if it still exists) is sized anew by now; over-counting it until then is the safe side. The call's journaled
        // record, if any, rides with the settlement (same transaction, showing the charge), as it would have.
        (await _ledger.SettleLeasedBatchAsync([new CreditLedger.LeasedSettlement(accountId, requestId, actual.Micro, actual.Micro, null, null, 0, record)], [])).Settled[0];

    /// <summary>Stores a call record in the next batch (with the settlements of other calls); returns once committed.</summary>
    public Task WriteRecordAsync(CallRecord record) => EnqueueAsync(new BatchItem(null, record));

    /// <summary>
    /// Replaces the record stored with a call's settlement (same request id, same row) in the next batch, when what the
    /// record shows changed after the settlement; returns once committed. Nothing is charged.
    /// </summary>
    public Task ReplaceRecordAsync(CallRecord record) => EnqueueAsync(new BatchItem(null, record, replace: true));

    private async Task<SettleResult?> EnqueueAsync(BatchItem item)
    {
        if (_stopping) return await WriteOneAsync(item);
        // A quiet gateway (no other leased call in flight, nothing queued, the last batch small, no batch being
        // written): the call writes its own batch on its own thread, in the same single turn — no hand-off to the batch
        // writer's thread and back (two thread-pool hops, measured ≈ 0.1–2 ms at p99 on a busy core). With more calls in
        // flight their items queue and the batch writer gathers them: writing each alone then cost 3× the transactions
        // per call at 32 connections (131–153 per 1,000 instead of 44–74) and 1.5–2× the bytes written.
        if (Volatile.Read(ref _activeCalls) <= InlineMaxActiveCalls && Volatile.Read(ref _lastBatchItems) < LingerAfterBatch
            && _queue.Reader.Count == 0 && _turn.Wait(0))
        {
            try
            {
                Interlocked.Increment(ref _writtenByTheirCall);
                await WriteBatchAsync([item]);
            }
            finally
            {
                _turn.Release();
            }
            return await item.Done.Task;
        }
        await _queue.Writer.WriteAsync(item);
        // The batch writer lingers for the calls in flight (see WriteBatchesAsync): wake it once all it waits for are queued.
        if (Volatile.Read(ref _lingerTarget) is > 0 and var target && _queue.Reader.Count >= target) Volatile.Read(ref _lingerSignal)?.TrySetResult();
        return await item.Done.Task;
    }

    private async Task<SettleResult?> WriteOneAsync(BatchItem item)
    {
        if (item.Settlement is { Record: not null } settlement)
        {
            try
            {
                return (await _ledger.SettleLeasedBatchAsync([settlement], [])).Settled[0];
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The charge must not depend on its record: settle alone (idempotent by request id should the first
                // attempt have committed after all); the caller then writes the record as a call without one would.
                LedgerLog.BatchFailed(_logger, ex, 1);
                item.Settlement = settlement with { Record = null };
            }
        }
        var records = item.Record is null || item.Replace ? [] : new[] { item.Record };
        var corrections = item.Record is not null && item.Replace ? new[] { item.Record } : null;
        var result = await _ledger.SettleLeasedBatchAsync(item.Settlement is null ? [] : [item.Settlement], records, corrections: corrections);
        return item.Settlement is null ? null : result.Settled[0];
    }

    /// <summary>Micro-credits this instance's calls hold in memory (or wait to have written) for the account.</summary>
    private long HeldInMemory(Guid accountId)
    {
        if (!_accounts.TryGetValue(accountId, out var lease)) return 0;
        lock (lease) return lease.Used;
    }

    /// <summary>
    /// An admin change on this instance took credits away: its lease stops admitting at once (the next call sizes it
    /// anew from what is left). Other instances see the recall in the database at their next refresh.
    /// </summary>
    private void Forget(Guid accountId)
    {
        if (!_accounts.TryGetValue(accountId, out var lease)) return;
        lock (lease)
        {
            lease.Amount = Math.Min(lease.Amount, lease.Used);
            lease.ExactUntil = 0;
        }
    }

    /// <summary>Returns the unused part of this instance's lease of the account (before holding exactly in the database).</summary>
    public async Task ReturnUnusedAsync(Guid accountId, CancellationToken cancellationToken)
    {
        if (!Active || !_accounts.TryGetValue(accountId, out var lease)) return;
        lock (lease)
        {
            if (lease.Amount <= lease.Used) return;
        }
        await lease.Resize.WaitAsync(cancellationToken);
        try
        {
            await ResizeAsync(accountId, lease, 0, returnOnly: true, cancellationToken);
        }
        finally
        {
            lease.Resize.Release();
        }
    }

    /// <summary>The batch writer and, every <see cref="LedgerOptions.LeaseRefreshInterval"/>, renewal and refresh of this instance's leases.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Leases) return;
        var writer = WriteBatchesAsync();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!_ready)
                {
                    // A restart of this instance: whatever it leased before the crash is returned at once, and the calls it had
                    // admitted but not recorded are stored as interrupted.
                    var returned = await _ledger.ReturnLeasesAsync(InstanceId, stoppingToken);
                    if (returned > 0) LedgerLog.LeasesReturnedAfterRestart(_logger, returned, InstanceId);
                    // The local log first: it has every call admitted before the crash, also those whose marker row was
                    // not written yet. Cleared only once they are stored (a failure retries at the next round).
                    var logged = _admissionLog.ReadLeftOver();
                    if (logged.Count > 0)
                    {
                        var stored = await _ledger.RecordInterruptedAsync(logged, stoppingToken);
                        if (stored > 0) LedgerLog.AdmissionsInterrupted(_logger, stored, InstanceId);
                    }
                    _admissionLog.Clear();
                    int interrupted;
                    while ((interrupted = await _ledger.ResolveAdmissionsAsync(InstanceId, stoppingToken)) > 0)
                        LedgerLog.AdmissionsInterrupted(_logger, interrupted, InstanceId);
                    _ready = true;
                }
                else
                {
                    await RefreshAsync(stoppingToken);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LedgerLog.LeaseRefreshFailed(_logger, ex);
            }
            try
            {
                await Task.Delay(_options.LeaseRefreshInterval, _time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        _stopping = true;
        _queue.Writer.TryComplete();
        await writer;
        await ReturnUnusedAtStopAsync();
        // A graceful stop: the log keeps only the calls still open (those a restart must record as interrupted).
        CompactAdmissionLog();
        _admissionLog.Dispose();
    }

    /// <summary>
    /// A graceful stop (rolling restart, scale-down) returns what this instance's leases hold beyond its calls still in
    /// flight, so other instances can spend it at once rather than after <see cref="LedgerOptions.LeaseTtl"/> (measured:
    /// 1–2 lease rows, up to 309 credits, stayed held after each benchmark run). A killed process cannot do this: its
    /// restart returns its leases, or they stop counting when they expire. Bounded to 5 s so a lost database cannot hold
    /// up the stop.
    /// </summary>
    private async Task ReturnUnusedAtStopAsync()
    {
        if (!Active) return;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            foreach (var accountId in _accounts.Keys) await ReturnUnusedAsync(accountId, timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LedgerLog.LeasesNotReturnedAtStop(_logger, ex);
        }
    }

    /// <summary>Rewrites the admission log with only the calls still open; a failure is logged (the next rewrite retries).</summary>
    private void CompactAdmissionLog()
    {
        try
        {
            _admissionLog.Compact();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LedgerLog.AdmissionLogFailed(_logger, ex, _admissionLog.Path);
        }
    }

    /// <summary>Items written by their own call on a quiet gateway instead of by the batch writer (for tests).</summary>
    internal long WrittenByTheirCall => Interlocked.Read(ref _writtenByTheirCall);

    /// <summary>This instance's lease of the account in memory: leased, and held by calls plus waiting to be written (for tests).</summary>
    internal (long Amount, long Used) LocalLease(Guid accountId)
    {
        if (!_accounts.TryGetValue(accountId, out var lease)) return (0, 0);
        lock (lease) return (lease.Amount, lease.Used);
    }

    /// <summary>Renews every lease in one transaction; applies admin changes and recalls; re-sizes or returns leases as needed.</summary>
    internal async Task RefreshAsync(CancellationToken cancellationToken)
    {
        // Calls admitted since the last batch get their marker here if no batch came (a quiet gateway).
        var finished = TakeFinishedMarkers();
        var (unmarked, json) = TakeUnmarked(null, batch: false);
        List<(Guid AccountId, long Amount, long ExpiresAtTicks, bool Recall)> rows;
        try
        {
            (rows, var markerId) = await _ledger.RenewLeasesAsync(InstanceId, cancellationToken,
                finished.Count > 0 || json is not null ? new CreditLedger.AdmissionBatch(InstanceId, json, finished) : null);
            AfterMarkers(unmarked, markerId);
        }
        catch
        {
            foreach (var id in finished) _finishedMarkers.Enqueue(id);
            AfterMarkers(unmarked, null);
            throw;
        }
        CompactAdmissionLog();
        var now = _time.GetUtcNow().UtcTicks;
        var seen = new HashSet<Guid>();
        var resize = new List<(Guid, AccountLease, bool ReturnOnly)>();
        foreach (var (accountId, amount, expiresAt, recall) in rows)
        {
            seen.Add(accountId);
            var lease = _accounts.GetOrAdd(accountId, static (_, t) => new AccountLease { LastUsed = t }, now);
            lock (lease)
            {
                // Only ever lowered here (an admin change elsewhere); raising happens after a resize transaction.
                if (!lease.Resizing) lease.Amount = Math.Min(lease.Amount, amount);
                lease.ExpiresAt = expiresAt;
                var idle = now - lease.LastUsed > _options.LeaseSpendWindow.Ticks && lease.Used == 0;
                if (recall || idle) resize.Add((accountId, lease, true));
                // Near the end of its backing: cover what calls hold with a fresh lease so it never lapses under them.
                else if (expiresAt - now < _options.LeaseTtl.Ticks / 2 && lease.Used > 0) resize.Add((accountId, lease, false));
                if (recall)
                {
                    lease.ExactUntil = now + _options.LeaseSpendWindow.Ticks;
                    Interlocked.Increment(ref _recallsSeen);
                }
            }
        }
        foreach (var (accountId, lease) in _accounts)
        {
            if (seen.Contains(accountId)) continue;
            lock (lease)
            {
                // No live row: the lease expired or was returned; whatever calls still hold needs a new one.
                if (!lease.Resizing) lease.Amount = 0;
                if (lease.Used > 0) resize.Add((accountId, lease, false));
                else if (now - lease.LastUsed > 10 * _options.LeaseSpendWindow.Ticks && !lease.Resizing)
                {
                    // Nothing held and no row: forget the account (a call that got this state before takes nothing from it).
                    lease.Retired = true;
                    _accounts.TryRemove(accountId, out _);
                }
            }
        }
        foreach (var (accountId, lease, returnOnly) in resize)
        {
            if (!await lease.Resize.WaitAsync(0, cancellationToken)) continue;
            try
            {
                await ResizeAsync(accountId, lease, 0, returnOnly, cancellationToken);
            }
            finally
            {
                lease.Resize.Release();
            }
        }
    }

    /// <summary>
    /// Writes queued settlements and records, one transaction per batch. Adaptive: a quiet gateway's item is written at
    /// once; after a large batch (many calls at once) the writer lingers, up to <see cref="LedgerOptions.SettlementBatchDelay"/>,
    /// until every leased call in flight has queued its item (each call waits for its own, so then nothing more can come)
    /// — fewer, bigger transactions at saturation, no added wait when load is light.
    /// </summary>
    private async Task WriteBatchesAsync()
    {
        var batch = new List<BatchItem>(_options.SettlementBatchMax);
        while (await _queue.Reader.WaitToReadAsync())
        {
            await LingerAsync();
            await _turn.WaitAsync();
            try
            {
                while (batch.Count < _options.SettlementBatchMax && _queue.Reader.TryRead(out var item)) batch.Add(item);
                if (batch.Count > 0) await WriteBatchAsync(batch);
            }
            finally
            {
                _turn.Release();
            }
            batch.Clear();
        }
    }

    /// <summary>Large batches before: waits (bounded) for the items of the leased calls still in flight.</summary>
    private async Task LingerAsync()
    {
        var bound = _options.SettlementBatchDelay;
        if (bound <= TimeSpan.Zero || Volatile.Read(ref _lastBatchItems) < LingerAfterBatch) return;
        var target = Math.Min(Volatile.Read(ref _activeCalls), _options.SettlementBatchMax);
        if (_queue.Reader.Count >= target) return;
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _lingerSignal, signal);
        Volatile.Write(ref _lingerTarget, target);
        try
        {
            // Checked after the target is published: an item queued meanwhile either sees the target or is counted here.
            if (_queue.Reader.Count >= target) return;
            // Wall-clock time, not the injected TimeProvider: a performance bound (tests drive lease expiry with a manual clock).
            // The timer is cancelled when the signal wins, so it does not fire (a wake of the timer thread) for nothing.
            using var timeout = new CancellationTokenSource();
            var delay = Task.Delay(bound, timeout.Token);
            if (await Task.WhenAny(signal.Task, delay) != delay) timeout.Cancel();
        }
        finally
        {
            Volatile.Write(ref _lingerTarget, 0);
            Volatile.Write(ref _lingerSignal, null);
        }
    }

    private List<long> TakeFinishedMarkers()
    {
        var finished = new List<long>();
        while (finished.Count < 1000 && _finishedMarkers.TryDequeue(out var id)) finished.Add(id);
        return finished;
    }

    private async Task WriteBatchAsync(List<BatchItem> batch)
    {
        // The batch is this writer's group commit already: committed as soon as it is written (scoped to this method).
        // A small batch (light load) checkpoints at a smaller WAL so no call waits for a large copy; a large one keeps
        // SQLite's default, which costs less CPU per call (see SqliteWriteGroup.QuietCheckpointPages).
        DatabaseWriter.CommitEachAtOnce(batch.Count < LingerAfterBatch ? SqliteWriteGroup.QuietCheckpointPages : SqliteWriteGroup.BusyCheckpointPages);
        Volatile.Write(ref _lastBatchItems, batch.Count);
        await WriteBatchCoreAsync(batch);
    }

    private async Task WriteBatchCoreAsync(List<BatchItem> batch)
    {
        var settlements = batch.Where(b => b.Settlement is not null).ToList();
        var records = batch.Where(b => b.Record is not null && !b.Replace).Select(b => b.Record!).ToList();
        var corrections = batch.Where(b => b.Replace).Select(b => b.Record!).ToList();
        var finished = TakeFinishedMarkers();
        // One marker row for every call admitted since the last batch (not those whose record is in this batch, alone
        // or with its settlement).
        HashSet<string>? recordedNow = null;
        foreach (var item in batch)
        {
            if ((item.Record ?? item.Settlement?.Record) is { } record && !item.Replace) (recordedNow ??= []).Add(record.RequestId);
        }
        var (unmarked, json) = TakeUnmarked(recordedNow, batch: true);
        try
        {
            var admission = json is not null || finished.Count > 0 ? new CreditLedger.AdmissionBatch(InstanceId, json, finished) : null;
            var result = await _ledger.SettleLeasedBatchAsync(settlements.Select(b => b.Settlement!).ToList(), records, admission,
                corrections.Count > 0 ? corrections : null);
            AfterMarkers(unmarked, result.MarkerId);
            for (var i = 0; i < settlements.Count; i++) settlements[i].Done.TrySetResult(result.Settled[i]);
            foreach (var item in batch) item.Done.TrySetResult(null);
        }
        catch (Exception ex)
        {
            foreach (var id in finished) _finishedMarkers.Enqueue(id);
            AfterMarkers(unmarked, null);
            // One bad item (or a database hiccup) must not sink the others: write them one by one.
            LedgerLog.BatchFailed(_logger, ex, batch.Count);
            foreach (var item in batch)
            {
                try
                {
                    item.Done.TrySetResult(await WriteOneAsync(item));
                }
                catch (Exception one)
                {
                    item.Done.TrySetException(one);
                }
            }
        }
    }
}
