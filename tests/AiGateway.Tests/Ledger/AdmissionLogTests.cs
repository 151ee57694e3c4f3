using System.Text.Json;
using AiGateway.Ledger;
using AiGateway.Storage;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// The local admission log of leased calls: a line appended before a call is forwarded must be in the file at once (a
/// killed process cannot flush anything, so no buffering in the process), through rewrites and torn last lines.
/// </summary>
public sealed class AdmissionLogTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "aigw-admission-log-" + Guid.NewGuid().ToString("N"));

    private string LogPath => Path.Combine(_folder, "instance.jsonl");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void Append_TheLineIsInTheFileBeforeTheLogIsClosed_AsAKilledProcessLeavesIt()
    {
        var log = new AdmissionLog(LogPath);
        try
        {
            foreach (var id in new[] { "req-k-1", "req-k-2", "req-k-3" }) Append(log, id);

            // Another reader of the file while the log is still open, never disposed or compacted: what a restart after
            // kill -9 finds.
            var left = new AdmissionLog(LogPath).ReadLeftOver();
            Assert.Equal(["req-k-1", "req-k-2", "req-k-3"], left.Select(r => r.RequestId));
            Assert.All(left, r => Assert.Equal(CallRecord.InterruptedUsageSource, r.UsageSource));
        }
        finally
        {
            log.Dispose();
        }
    }

    [Fact]
    public void Compact_KeepsTheOpenCalls_LaterAppendsLand_AndTheClosedLogHoldsTheirLinesOnly()
    {
        var log = new AdmissionLog(LogPath);
        Append(log, "req-c-a");
        Append(log, "req-c-b");
        Append(log, "req-c-c");
        log.Done("req-c-b");
        log.Compact();
        Append(log, "req-c-d");
        Assert.Equal(["req-c-a", "req-c-c", "req-c-d"], new AdmissionLog(LogPath).ReadLeftOver().Select(r => r.RequestId).Order());
        log.Dispose();

        var bytes = File.ReadAllBytes(LogPath);
        Assert.Equal((byte)'\n', bytes[^1]);
        Assert.Equal(3, bytes.Count(b => b == (byte)'\n'));
    }

    [Fact]
    public void ReadLeftOver_ATornLastLine_IsSkipped_AndClearEmptiesTheLog()
    {
        var log = new AdmissionLog(LogPath);
        Append(log, "req-t-1");
        Append(log, "req-t-2");
        // A process killed in the middle of its third line: part of a line at the end of the file.
        using (var file = new FileStream(LogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
        {
            file.Write("{\"requestId\":\"req-t-3\",\"rou"u8);
        }
        Assert.Equal(["req-t-1", "req-t-2"], new AdmissionLog(LogPath).ReadLeftOver().Select(r => r.RequestId));

        log.Clear();
        Assert.False(File.Exists(LogPath));
        Append(log, "req-t-4");
        Assert.Equal(["req-t-4"], new AdmissionLog(LogPath).ReadLeftOver().Select(r => r.RequestId));
        log.Dispose();
    }

    private static void Append(AdmissionLog log, string requestId, string? error = null)
    {
        var record = new CallRecord
        {
            RequestId = requestId, AccountId = Guid.NewGuid(), KeyId = Guid.NewGuid(), Route = "openai", Provider = "openai",
            Model = "gpt-4o-mini", Operation = "OpenAiChatCompletions", UsageSource = CallRecord.InterruptedUsageSource,
            EstimateMicro = 123, StartedAt = DateTimeOffset.UnixEpoch, Error = error,
        };
        log.Append(requestId, JsonSerializer.SerializeToUtf8Bytes(record, CallRecordJson.Default.CallRecord));
    }
}
