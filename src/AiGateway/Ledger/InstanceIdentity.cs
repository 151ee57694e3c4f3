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
    /// The instance's local admission log (<see cref="AdmissionLog"/>): <c>lease-admissions.jsonl</c> next to its
    /// instance id file, so it is per instance like the settlement journal.
    /// </summary>
    public static string AdmissionLogPath(LedgerOptions options, IConfiguration configuration) =>
        Path.Combine(Path.GetDirectoryName(IdPath(options, configuration))!, "lease-admissions.jsonl");

    private static string IdPath(LedgerOptions options, IConfiguration configuration) => Path.GetFullPath(
        options.InstanceIdPath is { Length: > 0 } configured
            ? configured
            : Path.Combine(Path.GetDirectoryName(configuration["Metering:JournalPath"] is { Length: > 0 } journal ? journal : "data/settlement-journal.jsonl") ?? "data",
                "instance-id"));
}
