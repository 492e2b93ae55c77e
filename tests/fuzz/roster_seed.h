/*
 * roster_seed.h: a small valid OneRoster 1.2 export that fuzz_roster.c
 * reads beside the file it fuzzes (so that a fuzzed file's references can
 * resolve and the whole-export checks run), and that make_seeds.c writes
 * as the target's seed corpus. One district, two schools, two classes,
 * sessions, a course, students, a teacher; a BOM, CRLF line endings,
 * quoting and a UTF-8 name among them. delta[] holds delta versions of
 * some files.
 */
#ifndef CAIRN_FUZZ_ROSTER_SEED_H
#define CAIRN_FUZZ_ROSTER_SEED_H

#include "roster.h"

static const char *const roster_seed_bulk[CAIRN_ROSTER_FILES] = {
    [CAIRN_ROSTER_MANIFEST] = "propertyName,value\n"
                              "manifest.version,1.0\n"
                              "oneroster.version,1.2\n"
                              "file.academicSessions,bulk\n"
                              "file.classes,bulk\n"
                              "file.courses,bulk\n"
                              "file.demographics,absent\n"
                              "file.enrollments,bulk\n"
                              "file.orgs,bulk\n"
                              "file.roles,bulk\n"
                              "file.users,bulk\n",
    [CAIRN_ROSTER_ORGS] = "\xef\xbb\xbfsourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
                          "d-1,,,Riverside Unified,district,RUSD,\n"
                          "sch-n,,,North Middle School,school,NMS,d-1\n"
                          "sch-s,,,\"South Elementary, Riverside\",school,SES,d-1\n",
    [CAIRN_ROSTER_SESSIONS] =
        "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n"
        "y-2026,,,2025-2026,schoolYear,2025-08-18,2026-06-12,,2026\n"
        "sem-1,,,Fall 2025,semester,2025-08-18,2026-01-16,y-2026,2026\n",
    [CAIRN_ROSTER_COURSES] = "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,"
                             "orgSourcedId,subjects\n"
                             "crs-math6,,,y-2026,Mathematics 6,MA6,06,d-1,mathematics\n",
    [CAIRN_ROSTER_CLASSES] =
        "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
        "schoolSourcedId,termSourcedIds\r\n"
        "cls-n,,,\"Math 6, Period 1\",06,crs-math6,MA6-1,scheduled,Room 101,sch-n,\"sem-1,y-2026\"\r\n"
        "cls-s,,,\"Room 3 \"\"Owls\"\"\",03,crs-math6,HR3,homeroom,,sch-s,y-2026\r\n",
    [CAIRN_ROSTER_USERS] = "sourcedId,status,dateLastModified,enabledUser,username,givenName,familyName,"
                           "identifier,grades,primaryOrgSourcedId,password\n"
                           "st-1,,,true,st-1@x.example,Zo\xc3\xab,\xc3\x98rsted,S1,06,sch-n,secret\n"
                           "st-2,,,true,st-2@x.example,Ben,Okafor,S2,\"03, 04\",sch-s,\n"
                           "t-1,,,TRUE,t-1@x.example,Maria,Santos,T1,,sch-n,\n",
    [CAIRN_ROSTER_ROLES] = "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
                           "orgSourcedId\n"
                           "r-1,,,st-1,primary,student,,,sch-n\n"
                           "r-2,,,t-1,primary,teacher,2025-08-01,,sch-n\n"
                           "r-3,,,t-1,secondary,ext:coach,,,sch-s\n",
    [CAIRN_ROSTER_ENROLLMENTS] = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,"
                                 "userSourcedId,role,primary,beginDate,endDate\n"
                                 "e-1,,,cls-n,sch-n,st-1,student,false,2025-08-18,2026-02-02\n"
                                 "e-2,,,cls-s,sch-s,st-2,student,,2025-08-18,\n"
                                 "e-3,,,cls-n,sch-n,t-1,teacher,true,,\n"
                                 "e-4,,,cls-s,sch-s,st-1,student,false,2026-02-02,\n",
};

static const char *const roster_seed_delta[CAIRN_ROSTER_FILES] = {
    [CAIRN_ROSTER_USERS] = "sourcedId,status,dateLastModified,enabledUser,username,givenName,familyName\n"
                           "st-3,active,2026-02-10T08:00:00.000Z,true,st-3@x.example,Ines,Moreau\n"
                           "st-2,tobedeleted,2026-02-10,,,,\n",
    [CAIRN_ROSTER_ENROLLMENTS] = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,"
                                 "userSourcedId,role,primary,beginDate,endDate\n"
                                 "e-5,active,2026-02-10T08:00+01:00,cls-n,sch-n,st-3,student,,2026-02-10,\n"
                                 "e-2,tobedeleted,2026-02-10T08:00:00Z,,,,,,,\n",
    [CAIRN_ROSTER_CLASSES] = "sourcedId,status,dateLastModified,title,courseSourcedId,classType,"
                             "schoolSourcedId,termSourcedIds\n"
                             "cls-x,active,2026-02-10,Art,crs-art,ext:club,sch-n,\"sem-2, y-2026\"\n",
};

#endif
