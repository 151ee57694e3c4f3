using AiGateway.Metering;
using AiGateway.Pricing;

namespace AiGateway.Tests.Metering;

/// <summary>
/// A call the gateway stops itself (its credit hold was lost) drops the client connection, which the response meter
/// sees as a client that left. The record stored with the settlement must already name the gateway's reason: it was
/// corrected only when the call ended, and a reader in between (HoldLifetimeTests, once in a loaded run) saw
/// "client disconnected; no usage report within the drain window".
/// </summary>
public sealed class StoppedCallRecordTests
{
    private static MeteredCall Call() => TestCalls.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");

    [Fact]
    public void StoppedCall_RecordAtSettlement_ShowsTheStopReason_NotTheCutItCaused()
    {
        var call = Call();
        call.Stop("stopped: its credit hold expired while the call was in flight");
        call.Error = "client disconnected; no usage report within the drain window (Metering:DrainAfterDisconnect)";

        var record = CallRecorder.AtSettlement(call, new CallUsage { InputTokens = 3, OutputTokens = 4 }, CallSettler.Sources.Partial, new Credits(4));

        Assert.Equal("stopped: its credit hold expired while the call was in flight", record.Error);
        Assert.True(call.Stopped.IsCancellationRequested);
    }

    [Fact]
    public void StoppedTwice_TheFirstReasonStays()
    {
        var call = Call();
        call.Stop("stopped: its credit hold expired while the call was in flight");
        call.Stop("stopped: its credit hold could not be renewed (ledger unavailable)");

        Assert.Equal("stopped: its credit hold expired while the call was in flight", call.StopReason);
    }

    [Fact]
    public void CallNotStopped_RecordShowsItsError()
    {
        var call = Call();
        call.Error = "client disconnected";

        var record = CallRecorder.AtSettlement(call, new CallUsage { InputTokens = 3, OutputTokens = 4 }, CallSettler.Sources.Partial, new Credits(4));

        Assert.Equal("client disconnected", record.Error);
        Assert.Null(call.StopReason);
    }
}
