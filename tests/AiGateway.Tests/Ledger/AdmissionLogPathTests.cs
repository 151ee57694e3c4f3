using AiGateway.Ledger;
using Microsoft.Extensions.Configuration;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// Each instance has its own admission log. Two instances with configured ids whose journals share a folder (as
/// bench/Metering/run.sh PG=1 ran its two gateways, journal-p1.jsonl and journal-p2.jsonl in one folder) shared one log
/// before: each compaction rewrote it with only its own open calls, and a restart would have stored the other
/// instance's calls in flight as interrupted.
/// </summary>
public sealed class AdmissionLogPathTests
{
    private static string PathFor(string? instanceId, string journal, string? idPath = null) => InstanceIdentity.AdmissionLogPath(
        new LedgerOptions { InstanceId = instanceId, InstanceIdPath = idPath }, new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Metering:JournalPath"] = journal }).Build());

    [Fact]
    public void ConfiguredIds_OneFolder_TwoLogs()
    {
        var folder = Path.Combine(Path.GetTempPath(), "aigw-shared");
        var first = PathFor("bench-p1", Path.Combine(folder, "journal-p1.jsonl"));
        var second = PathFor("bench-p2", Path.Combine(folder, "journal-p2.jsonl"));

        Assert.NotEqual(first, second);
        Assert.Equal(Path.GetFullPath(folder), Path.GetDirectoryName(first));
        Assert.Equal("lease-admissions.bench-p1.jsonl", Path.GetFileName(first));
        // The same configured id finds its own log again after a restart.
        Assert.Equal(first, PathFor(" bench-p1 ", Path.Combine(folder, "journal-p1.jsonl")));
    }

    [Fact]
    public void IdFromTheIdFile_KeepsTheFolderLog()
    {
        var folder = Path.Combine(Path.GetTempPath(), "aigw-own");
        Assert.Equal(Path.Combine(Path.GetFullPath(folder), "lease-admissions.jsonl"), PathFor(null, Path.Combine(folder, "journal.jsonl")));
    }

    [Fact]
    public void ConfiguredIdFiles_OneFolder_TwoLogs()
    {
        var folder = Path.Combine(Path.GetTempPath(), "aigw-files");
        var first = PathFor(null, Path.Combine(folder, "journal.jsonl"), Path.Combine(folder, "instance"));
        var second = PathFor(null, Path.Combine(folder, "journal2.jsonl"), Path.Combine(folder, "instance2"));

        Assert.NotEqual(first, second);
        Assert.Equal(Path.GetFullPath(folder), Path.GetDirectoryName(second));
    }

    [Fact]
    public void IdsAFileNameCannotHold_StayApartAndInTheFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "aigw-odd");
        var journal = Path.Combine(folder, "journal.jsonl");
        var a = PathFor("east/1", journal);
        var b = PathFor("east_1", journal);
        var c = PathFor("../east", journal);

        Assert.NotEqual(a, b);
        Assert.All(new[] { a, b, c }, p => Assert.Equal(Path.GetFullPath(folder), Path.GetDirectoryName(p)));
    }
}
