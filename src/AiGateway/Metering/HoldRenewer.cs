using System.Collections.Concurrent;
using AiGateway.Ledger;
using Microsoft.Extensions.Options;

namespace AiGateway.Metering;

/// <summary>
/// Keeps a hold alive as long as its call: every <c>Ledger:HoldRenewInterval</c> it moves the expiry of every hold this
/// process has in flight to now + <c>Ledger:HoldTtl</c>, in one ledger write for all of them. A stream may run for
/// <c>Metering:MaxStreamDuration</c> (30 min) while a crashed instance's holds come back after one short TTL.
/// A call is served only while its hold is known to be alive: it is stopped when a renewal finds its hold already
/// expired (the sweep released the credits, which may have been promised to another call since), and when renewals
/// have failed (ledger unreachable) for so long that the hold could expire before the next one.
/// </summary>
public sealed class HoldRenewer(CreditLedger ledger, IOptions<LedgerOptions> options, TimeProvider time, ILogger<HoldRenewer> logger)
    : BackgroundService
{
    private readonly ConcurrentDictionary<string, Renewal> _calls = new();

    /// <summary>
    /// Starts renewing a call's hold, made no earlier than <paramref name="heldSince"/>; <paramref name="stop"/> ends the
    /// call (it is given the reason). Dispose the result when the call's hold is resolved or the call ends.
    /// </summary>
    public IDisposable Track(string requestId, DateTimeOffset heldSince, Action<string> stop)
    {
        var renewal = new Renewal(this, requestId, heldSince + options.Value.HoldTtl, stop);
        _calls[requestId] = renewal;
        return renewal;
    }

    /// <summary>How many calls' holds are being renewed.</summary>
    public int InFlight => _calls.Count;

    /// <summary>Runs one renewal of every tracked hold (the background loop calls it every renewal interval).</summary>
    public async Task RenewOnceAsync(CancellationToken cancellationToken = default)
    {
        if (_calls.IsEmpty) return;
        var calls = _calls.Values.ToList();
        var now = time.GetUtcNow();
        var until = now + options.Value.HoldTtl;
        try
        {
            var expired = await ledger.ExtendHoldsAsync(calls.Select(c => c.RequestId).ToList(), until, cancellationToken);
            foreach (var call in calls) call.ConfirmedUntil = until;
            foreach (var requestId in expired)
            {
                if (!_calls.TryGetValue(requestId, out var call)) continue;
                MeteringLog.HoldExpiredInFlight(logger, requestId);
                call.Stop("stopped: its credit hold expired while the call was in flight");
            }
        }
        catch (Exception ex) when (DatabaseFailure.Is(ex) && !cancellationToken.IsCancellationRequested)
        {
            // The holds stay valid until their last confirmed expiry; stop the calls that the next renewal might not reach in time.
            var margin = options.Value.EffectiveHoldRenewInterval * 2;
            var atRisk = calls.Where(c => c.ConfirmedUntil - now < margin).ToList();
            MeteringLog.HoldRenewalUnavailable(logger, ex, calls.Count, atRisk.Count);
            foreach (var call in atRisk) call.Stop("stopped: its credit hold could not be renewed (ledger unavailable)");
        }
    }

    /// <summary>Renews every <see cref="LedgerOptions.EffectiveHoldRenewInterval"/> until the host stops.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.EffectiveHoldRenewInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RenewOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                MeteringLog.HoldRenewalFailed(logger, ex);
            }
        }
    }

    /// <summary>One tracked call; stopping and disposing are exclusive, so a call is never stopped after it ended.</summary>
    private sealed class Renewal(HoldRenewer owner, string requestId, DateTimeOffset confirmedUntil, Action<string> stop) : IDisposable
    {
        private readonly Lock _lock = new();
        private bool _done;

        public string RequestId { get; } = requestId;

        private long _confirmedUntilTicks = confirmedUntil.UtcTicks;

        /// <summary>The latest expiry the ledger confirmed for the hold (read and written by different threads).</summary>
        public DateTimeOffset ConfirmedUntil
        {
            get => new(Interlocked.Read(ref _confirmedUntilTicks), TimeSpan.Zero);
            set => Interlocked.Exchange(ref _confirmedUntilTicks, value.UtcTicks);
        }

        public void Stop(string reason)
        {
            lock (_lock)
            {
                if (_done) return;
                _done = true;
                stop(reason);
            }
            owner._calls.TryRemove(new KeyValuePair<string, Renewal>(RequestId, this));
        }

        public void Dispose()
        {
            lock (_lock) _done = true;
            owner._calls.TryRemove(new KeyValuePair<string, Renewal>(RequestId, this));
        }
    }
}
