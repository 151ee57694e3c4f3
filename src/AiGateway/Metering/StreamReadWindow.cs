namespace AiGateway.Metering;

/// <summary>
/// How long the next upstream read of a stream may wait: the idle timeout, the stream's overall deadline and — once the
/// client has left — the drain window (time and bytes) in which the gateway still reads on to the provider's usage report.
/// The client's departure may be noted from another thread (the request-aborted callback), hence the atomics.
/// </summary>
internal sealed class StreamReadWindow(DateTime start, TimeSpan maxDuration, TimeSpan idleTimeout, TimeSpan drainTime, long drainMaxBytes)
{
    private readonly DateTime _deadline = start + maxDuration;
    private long _drainDeadlineTicks;
    private long _drainedBytes;

    /// <summary>Whether the upstream is read on after the client leaves.</summary>
    public bool Drains { get; } = drainTime > TimeSpan.Zero && drainMaxBytes > 0;

    /// <summary>Whether the client has left (noted by <see cref="ClientLeft"/>).</summary>
    public bool ClientGone => Interlocked.Read(ref _drainDeadlineTicks) != 0;

    /// <summary>Notes that the client left at <paramref name="now"/>; the first call starts the drain window.</summary>
    public void ClientLeft(DateTime now) => Interlocked.CompareExchange(ref _drainDeadlineTicks, (now + drainTime).Ticks, 0);

    /// <summary>Whether the stream's overall deadline has passed.</summary>
    public bool PastDeadline(DateTime now) => now >= _deadline;

    /// <summary>Counts bytes read after the client left; false once they exceed the drain's byte bound.</summary>
    public bool Drained(int bytes) => Interlocked.Add(ref _drainedBytes, bytes) <= drainMaxBytes;

    /// <summary>The longest the next read may wait (never negative).</summary>
    public TimeSpan NextReadTimeout(DateTime now)
    {
        var timeout = idleTimeout;
        if (_deadline - now < timeout) timeout = _deadline - now;
        var drainDeadline = Interlocked.Read(ref _drainDeadlineTicks);
        if (drainDeadline != 0 && new DateTime(drainDeadline, DateTimeKind.Utc) - now < timeout) timeout = new DateTime(drainDeadline, DateTimeKind.Utc) - now;
        return timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero;
    }
}
