using AiGateway.Hosting;

namespace AiGateway.Tests.Hosting;

public class MemoryTrimPolicyTests
{
    private const long MiB = 1024 * 1024;

    private static MemoryTrimPolicy Policy() => new(surplusBytes: 16 * MiB, quietBytes: 10 * MiB, startupCommittedBytes: 40 * MiB);

    [Fact]
    public void TrimsInTheFirstQuietIntervalAfterABurst()
    {
        var policy = Policy();
        Assert.False(policy.ShouldTrim(allocatedInInterval: 300 * MiB, committedNow: 130 * MiB)); // the burst

        Assert.True(policy.ShouldTrim(allocatedInInterval: 1 * MiB, committedNow: 130 * MiB));
    }

    [Fact]
    public void NeverTrimsUnderLoad()
    {
        var policy = Policy();
        for (var i = 0; i < 5; i++) Assert.False(policy.ShouldTrim(allocatedInInterval: 300 * MiB, committedNow: 300 * MiB));
    }

    [Fact]
    public void NeverTrimsASteadyQuietGateway()
    {
        // Light steady traffic (or streams held open) with much committed: no burst ended, so no collection again and again.
        var policy = Policy();
        for (var i = 0; i < 5; i++) Assert.False(policy.ShouldTrim(allocatedInInterval: 2 * MiB, committedNow: 120 * MiB));
    }

    [Fact]
    public void DoesNotTrimBelowTheSurplus()
    {
        var policy = Policy();
        policy.ShouldTrim(300 * MiB, 50 * MiB);

        Assert.False(policy.ShouldTrim(allocatedInInterval: 0, committedNow: 55 * MiB));
    }

    [Fact]
    public void TrimsOncePerBurst()
    {
        var policy = Policy();
        policy.ShouldTrim(300 * MiB, 130 * MiB);
        Assert.True(policy.ShouldTrim(0, 130 * MiB));
        policy.Trimmed();

        // Still quiet and still far above start-up (much is live): no second collection until another burst ends.
        Assert.False(policy.ShouldTrim(0, 110 * MiB));
        Assert.False(policy.ShouldTrim(300 * MiB, 150 * MiB));
        Assert.True(policy.ShouldTrim(0, 150 * MiB));
    }
}
