using System.Data.Common;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace AiGateway.Storage;

/// <summary>
/// How a <see cref="Guid"/> is stored on SQLite: a 16-byte BLOB in RFC 9562 (big-endian) byte order, i.e. the 32 hex
/// digits of the text form, in order (36-char TEXT cost ≈ 213 B per call across the rows and indexes that repeat
/// account and key ids; issue #17). This one definition is used by the EF model (<see cref="BlobConverter"/>), by
/// every raw SQL parameter (<see cref="LedgerSession.Id(Guid)"/>, <see cref="SqliteRawCommand"/>) and by migration
/// 0015, which converts the old TEXT with <c>unhex(replace(x, '-', ''))</c>. Big-endian rather than
/// <see cref="Guid.ToByteArray()"/>'s mixed order (what Microsoft.Data.Sqlite binds a <see cref="Guid"/> parameter
/// as and what its <c>GetGuid</c> reads): BLOBs compare byte by byte, so this order sorts exactly like the text did
/// and like PostgreSQL's <c>uuid</c> — version-7 ids stay in creation order (keyset cursors of the account and key
/// lists) and new ids append at the end of their indexes. Consequence: never hand a <see cref="Guid"/> to a
/// Microsoft.Data.Sqlite command or read one with its <c>GetGuid</c>; use <see cref="ToBytes"/> / <see cref="Read"/>.
/// The columns keep their declared TEXT type (SQLite keeps a BLOB a BLOB in a TEXT-affinity column; changing the
/// declared type would rebuild every table).
/// </summary>
public static class SqliteGuid
{
    /// <summary>The 16 bytes stored for <paramref name="id"/> (big-endian, the text form's hex digits in order).</summary>
    public static byte[] ToBytes(Guid id) => id.ToByteArray(bigEndian: true);

    /// <summary>The Guid of 16 stored bytes.</summary>
    public static Guid FromBytes(byte[] bytes) =>
        bytes.Length == 16 ? new Guid(bytes, bigEndian: true) : throw new FormatException($"A stored GUID is 16 bytes, not {bytes.Length}.");

    /// <summary>A Guid as a raw SQL parameter of the provider: PostgreSQL binds <c>uuid</c>, SQLite the 16-byte BLOB.</summary>
    public static object Parameter(bool postgres, Guid id) => postgres ? id : ToBytes(id);

    /// <summary>Reads a Guid column on either provider: <c>uuid</c> (PostgreSQL), a 16-byte BLOB (SQLite).</summary>
    public static Guid Read(DbDataReader reader, int ordinal)
    {
        var type = reader.GetFieldType(ordinal);
        if (type == typeof(Guid)) return reader.GetGuid(ordinal);
        if (type == typeof(byte[])) return FromBytes((byte[])reader.GetValue(ordinal));
        // A GUID still stored as text: a SQLite database must have been written by a build without migration 0015.
        throw new InvalidOperationException($"GUID column {reader.GetName(ordinal)} holds {type.Name}, not a 16-byte BLOB (migration 0015 not applied?).");
    }

    /// <summary>EF Core's mapping of Guid properties on SQLite (see the type's remarks).</summary>
    public sealed class BlobConverter() : ValueConverter<Guid, byte[]>(v => ToBytes(v), v => FromBytes(v));
}
