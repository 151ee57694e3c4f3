namespace AiGateway.Ledger;

/// <summary>
/// This gateway instance's identity in its credit leases. It must survive a restart (so a restarted instance returns
/// the leases it held at once) and differ between instances sharing a database (two live instances with one id would
/// overwrite each other's lease). Configured as <c>Ledger:InstanceId</c>, or created once and kept in a file next to the
/// instance's own settlement journal (which is per instance already).
/// </summary>
public static class InstanceIdentity
{
    /// <summary>The configured id, else the one kept in <see cref="LedgerOptions.InstanceIdPath"/> (created on first use).</summary>
    public static string Resolve(LedgerOptions options, IConfiguration configuration)
    {
        if (!string.IsNullOrWhiteSpace(options.InstanceId)) return options.InstanceId.Trim();
        var path = IdPath(options, configuration);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Created with O_EXCL: of hosts creating the file at the same moment (several gateways started at once on one
        // data folder) the first wins and the others take its id once written — a shared temp file moved into place made
        // the others fail start-up (file not found) or return an id the file did not keep (InstanceIdentityTests).
        for (var attempt = 0; attempt < 200; attempt++)
        {
            if (Read(path) is { } kept) return kept;
            var id = "gw-" + Guid.NewGuid().ToString("N")[..16];
            try
            {
                using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
                file.Write(System.Text.Encoding.UTF8.GetBytes(id));
                file.Flush(flushToDisk: true);
                return id;
            }
            catch (IOException) when (File.Exists(path))
            {
                Thread.Sleep(5); // another host is writing it: read it once written
            }
        }
        // Still empty after a second: left so by a crash between creating and writing it. Replaced, as before.
        var fresh = "gw-" + Guid.NewGuid().ToString("N")[..16];
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temp, fresh);
        File.Move(temp, path, overwrite: true);
        return fresh;
    }

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim() is { Length: > 0 } id ? id : null;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// The instance's local admission log (<see cref="AdmissionLog"/>), next to its instance id file:
    /// <c>lease-admissions.jsonl</c> beside the default <c>instance-id</c> file (the folder is then this instance's:
    /// every host on it takes the same id), else named after what tells instances apart —
    /// <c>lease-admissions.&lt;id&gt;.jsonl</c> when <c>Ledger:InstanceId</c> is configured,
    /// <c>lease-admissions.&lt;id file's name&gt;.jsonl</c> for a configured <c>Ledger:InstanceIdPath</c>. Instances with
    /// their own ids may share one folder (each with its own journal file in it): one shared log would have let each
    /// instance's compaction drop the other's open calls, and a restart store the other's calls in flight as interrupted
    /// (AdmissionLogPathTests).
    /// </summary>
    public static string AdmissionLogPath(LedgerOptions options, IConfiguration configuration)
    {
        var idPath = IdPath(options, configuration);
        var folder = Path.GetDirectoryName(idPath)!;
        var name = !string.IsNullOrWhiteSpace(options.InstanceId) ? options.InstanceId.Trim()
            : Path.GetFileName(idPath) is var file && file != DefaultIdFileName ? file : null;
        return Path.Combine(folder, name is null ? "lease-admissions.jsonl" : $"lease-admissions.{FileNamePart(name)}.jsonl");
    }

    private const string DefaultIdFileName = "instance-id";

    // A name as part of a file name: characters a file name cannot hold (and '.', ' ') become '_', and a hash of the
    // name keeps two names that differ only there apart.
    private static string FileNamePart(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        var safe = new string(name.Select(c => invalid.Contains(c) || c is '.' or ' ' ? '_' : c).ToArray());
        return safe == name ? safe
            : safe + "-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)))[..8];
    }

    private static string IdPath(LedgerOptions options, IConfiguration configuration) => Path.GetFullPath(
        options.InstanceIdPath is { Length: > 0 } configured
            ? configured
            : Path.Combine(Path.GetDirectoryName(configuration["Metering:JournalPath"] is { Length: > 0 } journal ? journal : "data/settlement-journal.jsonl") ?? "data",
                DefaultIdFileName));
}
