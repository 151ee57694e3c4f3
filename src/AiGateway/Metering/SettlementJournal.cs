using System.Text.Json;
using Microsoft.Extensions.Options;
using AiGateway.Storage;

namespace AiGateway.Metering;

/// <summary>
/// A local, fsync'd journal of settlements and call records the database could not take (outage, lock timeout).
/// <see cref="SettlementReplayService"/> replays it when the database answers again and at start-up, so a call the
/// provider served is never given away and its record is never lost. Settlement is idempotent by request id.
/// </summary>
public sealed class SettlementJournal(IOptions<MeteringOptions> options, ILogger<SettlementJournal> logger)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>One journaled item: a settlement still to apply, or a call record (or its correction) still to store.</summary>
    public sealed record Entry(string Kind, string RequestId, Guid AccountId, bool Held, long CostMicro, CallRecord? Record, bool Leased = false)
    {
        /// <summary>
        /// A settlement of <see cref="CostMicro"/> for the request's hold (or a direct charge when nothing was held); with
        /// <see cref="Leased"/>, of a call held against a lease: charged as it is (the call was delivered), like its batch would have.
        /// </summary>
        public const string Settle = "settle";

        /// <summary>A call record to insert (once, by request id).</summary>
        public const string RecordKind = "record";

        /// <summary>
        /// A call record that replaces the one stored with the call's charge (same row): how the call ended changed what
        /// it shows (e.g. the client left before the end) while the database could not take the correction.
        /// </summary>
        public const string CorrectKind = "correct";
    }

    private string FilePath => Path.GetFullPath(options.Value.JournalPath);

    private int _depth;

    /// <summary>Entries waiting in the journal, as this process last saw it (read at start-up by the replay).</summary>
    public int Depth => Volatile.Read(ref _depth);

    /// <summary>Appends an entry and flushes it to disk before returning.</summary>
    public async Task AppendAsync(Entry entry)
    {
        await _lock.WaitAsync();
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
            await using var stream = new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.Read, 4096, FileOptions.WriteThrough);
            var line = JsonSerializer.SerializeToUtf8Bytes(entry, Json);
            await stream.WriteAsync(line);
            stream.WriteByte((byte)'\n');
            stream.Flush(flushToDisk: true);
            Interlocked.Increment(ref _depth);
            MeteringLog.Journaled(logger, entry.RequestId, entry.Kind);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>All journaled entries, oldest first (a torn last line from a crash is skipped).</summary>
    public async Task<IReadOnlyList<Entry>> ReadAllAsync()
    {
        await _lock.WaitAsync();
        try
        {
            if (!File.Exists(FilePath)) return [];
            var entries = new List<Entry>();
            foreach (var line in await File.ReadAllLinesAsync(FilePath))
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                try
                {
                    if (JsonSerializer.Deserialize<Entry>(line, Json) is { } entry) entries.Add(entry);
                }
                catch (JsonException)
                {
                    MeteringLog.JournalLineUnreadable(logger);
                }
            }
            Volatile.Write(ref _depth, entries.Count);
            return entries;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Removes applied entries, rewriting the journal atomically (temp file + rename).</summary>
    public async Task RemoveAsync(IReadOnlyCollection<Entry> applied)
    {
        if (applied.Count == 0) return;
        await _lock.WaitAsync();
        try
        {
            if (!File.Exists(FilePath)) return;
            var keep = new List<string>();
            foreach (var line in await File.ReadAllLinesAsync(FilePath))
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                Entry? entry = null;
                try { entry = JsonSerializer.Deserialize<Entry>(line, Json); } catch (JsonException) { }
                if (entry is null || !applied.Any(a => a.Kind == entry.Kind && a.RequestId == entry.RequestId)) keep.Add(line);
            }
            var temp = FilePath + ".tmp";
            await File.WriteAllLinesAsync(temp, keep);
            File.Move(temp, FilePath, overwrite: true);
            Volatile.Write(ref _depth, keep.Count);
        }
        finally
        {
            _lock.Release();
        }
    }
}
