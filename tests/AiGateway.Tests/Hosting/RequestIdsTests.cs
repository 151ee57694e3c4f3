using System.Collections.Concurrent;
using AiGateway.Hosting;

namespace AiGateway.Tests.Hosting;

/// <summary>Request ids: unique, unguessable, time-ordered version-7 UUIDs without a system call per id.</summary>
public sealed class RequestIdsTests
{
    [Fact]
    public void AnId_IsAVersion7UuidOfItsMillisecond_InHex()
    {
        var now = DateTimeOffset.UtcNow;

        var id = RequestIds.New(now);

        Assert.Matches("^req_[0-9a-f]{32}$", id);
        var hex = id[4..];
        Assert.Equal(now.ToUnixTimeMilliseconds(), Convert.ToInt64(hex[..12], 16));
        Assert.Equal('7', hex[12]);
        Assert.Contains(hex[16], "89ab");
        // The same layout Guid.CreateVersion7 gives (its "N" form): version 7, variant 10 (Guid.Variant is the byte's high nibble).
        var guid = Guid.ParseExact(hex, "N");
        Assert.Equal(7, guid.Version);
        Assert.Equal(0b10, guid.Variant >> 2);
        Assert.Equal(Guid.CreateVersion7(now).ToString("N")[..12], hex[..12]);
    }

    [Fact]
    public void Ids_SortByTheirMillisecond()
    {
        var earlier = RequestIds.New(DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000));
        var later = RequestIds.New(DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_001));

        Assert.True(string.CompareOrdinal(earlier, later) < 0, $"{earlier} sorts after {later}");
    }

    [Fact]
    public async Task ManyIdsOnManyThreads_InOneMillisecond_AreAllDifferent_AndTheirRandomBitsBalanced()
    {
        // One millisecond for all: only the 74 random bits tell them apart (several pool refills per thread).
        var now = DateTimeOffset.UtcNow;
        var ids = new ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++) ids.Add(RequestIds.New(now));
        })));

        Assert.Equal(80_000, ids.Distinct(StringComparer.Ordinal).Count());
        // Every random bit (hex digits 13–15 and 17–31, and the two low bits of digit 16) is set in 45–55 % of the ids.
        var ones = new int[32 * 4];
        foreach (var id in ids)
        {
            for (var d = 0; d < 32; d++)
            {
                var v = Convert.ToInt32(id[4 + d].ToString(), 16);
                for (var b = 0; b < 4; b++) if ((v >> b & 1) == 1) ones[d * 4 + b]++;
            }
        }
        var randomBits = Enumerable.Range(13, 19).Where(d => d != 16).SelectMany(d => Enumerable.Range(0, 4).Select(b => d * 4 + b))
            .Concat([16 * 4, 16 * 4 + 1]).ToArray();
        Assert.Equal(74, randomBits.Length);
        Assert.All(randomBits, bit => Assert.InRange(ones[bit], 80_000 * 45 / 100, 80_000 * 55 / 100));
    }
}
