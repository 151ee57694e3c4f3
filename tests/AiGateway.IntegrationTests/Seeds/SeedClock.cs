namespace AiGateway.IntegrationTests.Seeds;

/// <summary>A clock the seed tests move by hand, so daily, weekly and monthly periods can pass in milliseconds.</summary>
public sealed class SeedClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    /// <summary>The current time.</summary>
    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    /// <summary>Moves the clock forward.</summary>
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
