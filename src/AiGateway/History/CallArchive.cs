using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using AiGateway.Metering;
using AiGateway.Storage;

namespace AiGateway.History;

/// <summary>
/// The archive folder of deleted call records: monthly parts <c>call_records-YYYY-MM-upto-N.jsonl.gz</c> (one JSON
/// call record per line, gzip) and <c>manifest.json</c> listing each part with its row count, id range and SHA-256.
/// The manifest is the archive: a part is listed only once its file is complete and synced, and rows are deleted
/// only after that. A file the manifest does not list is an interrupted write and is ignored.
/// </summary>
public sealed class CallArchive(string folder)
{
    /// <summary>The manifest's file name.</summary>
    public const string ManifestFile = "manifest.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    /// <summary>One archived part.</summary>
    /// <param name="Month">The UTC month of the calls' start, <c>yyyy-MM</c>.</param>
    /// <param name="UpToId">Every call of the month with an id at or below this was archived by this part or an earlier one.</param>
    public sealed record Part(string File, string Table, string Month, long Rows, long MinId, long MaxId, long UpToId, string Sha256, DateTimeOffset CreatedAt);

    /// <summary>The manifest's contents.</summary>
    public sealed record Manifest(List<Part> Parts);

    /// <summary>The folder.</summary>
    public string Folder => folder;

    /// <summary>Reads the manifest (empty when there is none yet).</summary>
    public Manifest ReadManifest()
    {
        var path = Path.Combine(folder, ManifestFile);
        if (!File.Exists(path)) return new Manifest([]);
        return JsonSerializer.Deserialize<Manifest>(File.ReadAllText(path), Json) ?? new Manifest([]);
    }

    /// <summary>Writes a part's rows to a temporary file, syncs it and moves it into place; returns its file name, row count and SHA-256.</summary>
    public async Task<(string File, long Rows, string Sha256)> WritePartAsync(string month, long upToId, IAsyncEnumerable<CallRecord> rows, CancellationToken ct)
    {
        Directory.CreateDirectory(folder);
        var name = $"call_records-{month}-upto-{upToId}.jsonl.gz";
        var temp = Path.Combine(folder, name + ".tmp");
        long count = 0;
        await using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
        {
            await using (var gzip = new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true))
            {
                await foreach (var row in rows.WithCancellation(ct))
                {
                    await JsonSerializer.SerializeAsync(gzip, row, Json, ct);
                    gzip.WriteByte((byte)'\n');
                    count++;
                }
            }
            await file.FlushAsync(ct);
            file.Flush(flushToDisk: true);
        }
        var path = Path.Combine(folder, name);
        File.Move(temp, path, overwrite: true);
        return (name, count, await Sha256Async(path, ct));
    }

    /// <summary>Adds a part to the manifest (written to a temporary file, synced, then moved over the old one).</summary>
    public void AddPart(Part part)
    {
        var manifest = ReadManifest();
        manifest.Parts.RemoveAll(p => p.File == part.File);
        manifest.Parts.Add(part);
        var temp = Path.Combine(folder, ManifestFile + ".tmp");
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            JsonSerializer.Serialize(file, manifest, new JsonSerializerOptions(Json) { WriteIndented = true });
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, Path.Combine(folder, ManifestFile), overwrite: true);
    }

    /// <summary>Checks a listed part's file against its checksum; throws when it is missing or differs.</summary>
    public async Task VerifyAsync(Part part, CancellationToken ct)
    {
        var path = Path.Combine(folder, part.File);
        if (!File.Exists(path)) throw new InvalidDataException($"Archive part {part.File} is missing.");
        var sha = await Sha256Async(path, ct);
        if (!string.Equals(sha, part.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"Archive part {part.File} does not match its SHA-256 in the manifest.");
    }

    /// <summary>Every archived call record (optionally of one month), after checking each part's checksum.</summary>
    public async IAsyncEnumerable<CallRecord> ReadAsync(string? month = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var part in ReadManifest().Parts.Where(p => month is null || p.Month == month).OrderBy(p => p.Month, StringComparer.Ordinal).ThenBy(p => p.UpToId))
        {
            await VerifyAsync(part, ct);
            await using var file = File.OpenRead(Path.Combine(folder, part.File));
            await using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var reader = new StreamReader(gzip);
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (line.Length == 0) continue;
                yield return JsonSerializer.Deserialize<CallRecord>(line, Json) ?? throw new InvalidDataException($"Empty record in {part.File}.");
            }
        }
    }

    private static async Task<string> Sha256Async(string path, CancellationToken ct)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
    }
}
