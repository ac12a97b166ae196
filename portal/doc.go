// Package portal keeps the national public-service portal's copy of every
// dossier current (Cổng Dịch vụ công quốc gia; README, National portal
// sync): Client speaks the portal's protocol, Record and Progress map a
// dossier to the portal's record (DongBoHoSoMC) and progress entries
// (CapNhatTienDoHoSoMC), and Syncer follows the lifecycle events on a
// durable JetStream consumer and sends, per dossier and in order, what the
// portal has not acknowledged yet.
//
// It imports domain, service (the sync state's types) and events (the
// JetStream connection and the CloudEvents decoding); the database is
// reached through the Store interface, which package store implements.
package portal
